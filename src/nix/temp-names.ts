import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { isPidAlive } from '../util/pid-alive.js';

// Every temp Flotilla makes under a Nix root (ROOT/nix/store, ROOT/nix/var/flotilla and its narinfo/) is
// named `.tmp-NAME-PID-TOKENRAND`: the writer's pid, then 16 hex digits, the first 8 a token drawn once per
// process, the last 8 per name. The pid says whether the writer may still run; the token tells this
// process's temps from those of an earlier process that had the same pid (an agent restarted in a
// container is often pid 1 again), which a pid alone cannot.

const PROCESS_TOKEN = randomBytes(4).toString('hex');
const TEMP_RE = /^\.tmp-.+-(\d+)-([0-9a-f]{16}|[0-9a-f]{12})$/;

/**
 * A fresh temp name beside `path` (same directory, so the rename into place is atomic), owned by this
 * process in the sense of judgeNixTemp. Starts with `.tmp-`, like every temp name of the project.
 */
export function nixTempNameFor(path: string): string {
  return join(dirname(path), `.tmp-${basename(path)}-${process.pid}-${PROCESS_TOKEN}${randomBytes(4).toString('hex')}`);
}

/**
 * Whether the temp called `name` (an entry name, no directory) may still be written by a running process.
 * 'stale' only when that is certain on this machine: the pid is ours but the token is not (an earlier
 * process with our pid; a name of tempNameFor's, which has no token, counts as ours), or no process has
 * the pid (kill(pid, 0) fails with ESRCH). A pid some other
 * process now holds counts as 'live': we cannot tell a reused pid from the writer without its start time,
 * and leaving a dead writer's temp until that process ends costs only disk, never a live writer's work.
 * 'foreign' for a name not made by nixTempNameFor or tempNameFor (left alone).
 */
export function judgeNixTemp(name: string): 'live' | 'stale' | 'foreign' {
  const m = TEMP_RE.exec(name);
  if (!m?.[1] || !m[2]) return 'foreign';
  const pid = Number(m[1]);
  if (!Number.isSafeInteger(pid) || pid <= 0) return 'foreign';
  // A 12-digit name of our pid is tempNameFor's, with no token: it may be this process's own write.
  if (pid === process.pid) return m[2].length === 16 && !m[2].startsWith(PROCESS_TOKEN) ? 'stale' : 'live';
  return isPidAlive(pid) ? 'live' : 'stale';
}

/**
 * Writes `data` to `path` atomically under a nixTempNameFor name (so a concurrent sweep of this process
 * leaves it alone): temp file, fsync, rename, fsync of the directory. The temp is removed on failure.
 */
export async function writeNixFileAtomic(path: string, data: string): Promise<void> {
  await writeFileAtomic(path, data, 0o644, nixTempNameFor);
}
