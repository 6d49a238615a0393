import { stat } from 'node:fs/promises';
import { setPaths } from '../generations/layout.js';

/**
 * A fingerprint of the sets' local state files (size and mtime of each sets/SET/state.json, or "absent").
 * The daemon's supervisor takes one after each full tick; a different one at a poll means someone changed
 * the machine's state outside the agent (`flotilla clear`, `rollback`), so the poll runs a full tick
 * instead of trusting the unchanged branch head. Never throws: an unreadable file reads as its error code.
 */
export async function readStateStamp(stateDir: string, sets: readonly string[]): Promise<string> {
  const parts: string[] = [];
  for (const set of [...sets].sort()) {
    let file: string;
    try {
      file = setPaths(stateDir, set).stateFile;
    } catch {
      parts.push(`${set}:invalid`);
      continue;
    }
    const s = await stat(file).catch((err: NodeJS.ErrnoException) => err.code ?? 'error');
    parts.push(typeof s === 'string' ? `${set}:${s}` : `${set}:${s.size}:${s.mtimeMs}:${s.ino}`);
  }
  return parts.join('|');
}
