import { readdir, readFile, readlink } from 'node:fs/promises';

/** Inodes of every unix-domain socket on the host (network namespace), from /proc/net/unix. */
async function readUnixSocketInodes(): Promise<Set<string> | undefined> {
  const text = await readFile('/proc/net/unix', 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const out = new Set<string>();
  // Columns: Num RefCount Protocol Flags Type St Inode [Path]
  for (const line of text.split('\n').slice(1)) {
    const inode = line.trim().split(/\s+/)[6];
    if (inode !== undefined && /^\d+$/.test(inode)) out.add(inode);
  }
  return out;
}

/**
 * The stream pipes this process has open beyond its stdio (fds 0-2), from /proc/self/fd: pipes and
 * unix-domain socket pairs (libuv gives a child's stdout/stderr as either). Entries are `pipe:[INODE]` /
 * `socket:[INODE]`; network sockets are left out. Undefined where /proc is not available. Never throws.
 */
export async function readOpenPipes(): Promise<Set<string> | undefined> {
  let fds: string[];
  try {
    fds = await readdir('/proc/self/fd');
  } catch {
    return undefined;
  }
  const out = new Set<string>();
  const sockets: string[] = [];
  for (const fd of fds) {
    if (Number(fd) <= 2) continue;
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target.startsWith('pipe:')) out.add(target);
    else if (target.startsWith('socket:')) sockets.push(target);
  }
  if (sockets.length > 0) {
    const unix = await readUnixSocketInodes();
    if (unix === undefined) return undefined;
    for (const s of sockets) if (unix.has(s.slice('socket:['.length, -1))) out.add(s);
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
