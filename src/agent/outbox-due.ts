import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { notificationBoxDir } from '../generations/layout.js';

/**
 * True when an event in the outbox is due for another delivery attempt (its `nextAt` has passed). The
 * supervisor asks before answering a poll cheaply: the tick worker that delivers may have retired, and a
 * full tick starts one. Reads only local files (the supervisor stays small); an unreadable entry is not due.
 */
export async function notificationsDue(stateDir: string, nowMs: number): Promise<boolean> {
  const dir = notificationBoxDir(stateDir, 'outbox');
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (name.startsWith('.') || !name.endsWith('.json')) continue;
    const text = await readFile(join(dir, name), 'utf8').catch(() => '');
    const at = /"nextAt":"([^"]+)"/.exec(text)?.[1];
    if (at !== undefined && Date.parse(at) <= nowMs) return true;
  }
  return false;
}
