import { readdir, readlink } from 'node:fs/promises';

/**
 * Inodes of the pipes this process has open beyond its stdio (fds 0-2), from /proc/self/fd; undefined
 * where /proc is not available. Never throws.
 */
export async function readOpenPipes(): Promise<Set<string> | undefined> {
  let fds: string[];
  try {
    fds = await readdir('/proc/self/fd');
  } catch {
    return undefined;
  }
  const out = new Set<string>();
  for (const fd of fds) {
    if (Number(fd) <= 2) continue;
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target.startsWith('pipe:')) out.add(target);
  }
  return out;
}

/**
 * True when this process holds pipes it did not hold at `baseline`: an activation started a background
 * process that kept the command's stdout/stderr (run-command.ts keeps draining them, because closing
 * them would kill that process with SIGPIPE on its next write). A process holding them must not exit.
 * Also true when either reading is unknown (no /proc): keeping a worker is the safe side.
 */
export function holdsNewPipes(baseline: Set<string> | undefined, now: Set<string> | undefined): boolean {
  if (baseline === undefined || now === undefined) return true;
  for (const p of now) if (!baseline.has(p)) return true;
  return false;
}
