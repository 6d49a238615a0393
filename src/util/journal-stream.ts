import { fstatSync } from 'node:fs';

/**
 * True when file descriptor `fd` is the journal stream systemd connected (systemd.exec(5), sd-daemon(3)):
 * JOURNAL_STREAM holds "DEV:INODE" of that stream. The variable alone is not enough: a child inherits it
 * even when its stderr goes elsewhere (a pipe to `jq`, a file), so the device and inode must match fd's.
 */
export function isJournalStream(env: NodeJS.ProcessEnv, fd = 2): boolean {
  const m = /^(\d+):(\d+)$/.exec(env['JOURNAL_STREAM'] ?? '');
  if (m === null) return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return st.dev === BigInt(m[1] ?? '') && st.ino === BigInt(m[2] ?? '');
  } catch {
    return false;
  }
}

/** Syslog priorities journald reads from a `<N>` line prefix (sd-daemon(3)). */
export const SYSLOG_PRIORITY = { crit: 2, err: 3, warning: 4, info: 6, debug: 7 } as const;

/** The syslog priority of a pino level number: fatal crit, error err, warn warning, info info, debug and trace debug. */
export function priorityOfPinoLevel(level: number): number {
  if (level >= 60) return SYSLOG_PRIORITY.crit;
  if (level >= 50) return SYSLOG_PRIORITY.err;
  if (level >= 40) return SYSLOG_PRIORITY.warning;
  if (level >= 30) return SYSLOG_PRIORITY.info;
  return SYSLOG_PRIORITY.debug;
}

/** `text` with `<priority>` before each of its lines: journald gives each line its own record. */
export function withPriority(text: string, priority: number): string {
  return text.replace(/^(?=.)/gm, `<${priority}>`);
}
