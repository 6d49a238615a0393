import { readFile, readlink } from 'node:fs/promises';

/** Who holds a lock: enough to tell a live holder from a dead one or a reused pid. */
export interface ProcessIdentity {
  pid: number;
  /** Field 22 of /proc/PID/stat (clock ticks since boot); absent where /proc is not available. */
  startTime?: string;
  /** The pid namespace (`pid:[…]`); a holder in another namespace cannot be judged from here. */
  pidNs?: string;
}

async function readStat(pid: number): Promise<{ state: string; startTime: string } | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const state = rest[0];
    const startTime = rest[19];
    return state !== undefined && startTime !== undefined ? { state, startTime } : undefined;
  } catch {
    return undefined;
  }
}

async function readPidNs(pid: number | 'self'): Promise<string | undefined> {
  try {
    return await readlink(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

let own: Promise<ProcessIdentity> | undefined;

/** The identity of process `pid` as a lock records it (start time and namespace when /proc has them). */
export async function identityOf(pid: number): Promise<ProcessIdentity> {
  const stat = await readStat(pid);
  const pidNs = await readPidNs(pid);
  return { pid, ...(stat ? { startTime: stat.startTime } : {}), ...(pidNs ? { pidNs } : {}) };
}

/** This process's identity, recorded in lock files it takes (read once; it cannot change). */
export function ownIdentity(): Promise<ProcessIdentity> {
  own ??= (async () => {
    const stat = await readStat(process.pid);
    const pidNs = await readPidNs('self');
    return { pid: process.pid, ...(stat ? { startTime: stat.startTime } : {}), ...(pidNs ? { pidNs } : {}) };
  })();
  return own;
}

/**
 * Whether the process named by `who` still runs: 'dead' when the pid is gone, a zombie, or reused by a
 * process that started at another time; 'alive' otherwise, including when it lives in another pid
 * namespace (we cannot judge it, so we must not break its lock).
 */
export async function judgeProcess(who: ProcessIdentity): Promise<'alive' | 'dead'> {
  const ns = await readPidNs('self');
  if (who.pidNs !== undefined && ns !== undefined && who.pidNs !== ns) return 'alive';
  try {
    process.kill(who.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return 'dead';
  }
  const stat = await readStat(who.pid);
  if (stat === undefined) return 'alive';
  if (stat.state === 'Z' || stat.state === 'X') return 'dead';
  if (who.startTime !== undefined && stat.startTime !== who.startTime) return 'dead';
  return 'alive';
}
