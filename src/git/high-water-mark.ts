import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StateError } from '../errors/index.js';
import { writeFileAtomic } from '../util/atomic-write.js';

/** The last deploy-repo commit this machine applied: the floor every new HEAD must descend from. */
export interface HighWaterMark {
  commit: string;
  /** ISO time it was recorded. */
  recordedAt: string;
  branch?: string;
}

const OID = /^[0-9a-f]{40}$/;

/**
 * Reads the high-water mark from `file` (in the state dir: generations/layout.ts highWaterMarkFile). Returns null only when the file does not exist; a file that
 * cannot be read, is not JSON, or lacks a 40-hex `commit` is a StateError (never "no state", which would
 * let a rollback through).
 */
export async function readHighWaterMark(file: string): Promise<HighWaterMark | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new StateError(`${file}: cannot read: ${(err as Error).message}`, { file }, { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new StateError(`${file}: not valid JSON`, { file }, { cause: err });
  }
  const v = value as Partial<HighWaterMark> | null;
  if (typeof v !== 'object' || v === null || typeof v.commit !== 'string' || !OID.test(v.commit)) {
    throw new StateError(`${file}: /commit must be a 40-hex commit id`, { file, field: 'commit' });
  }
  if (typeof v.recordedAt !== 'string') throw new StateError(`${file}: /recordedAt must be a string`, { file, field: 'recordedAt' });
  return { commit: v.commit, recordedAt: v.recordedAt, ...(typeof v.branch === 'string' ? { branch: v.branch } : {}) };
}

/**
 * Records `commit` as applied, atomically (temp file, fsync, rename, fsync dir). Call only after the commit
 * passed verifyAdvance and its changes were applied. Throws StateError for a malformed oid.
 */
export async function writeHighWaterMark(file: string, commit: string, branch?: string, now: Date = new Date()): Promise<void> {
  if (!OID.test(commit)) throw new StateError(`refusing to record ${JSON.stringify(commit)}: not a 40-hex commit id`, { commit });
  await mkdir(dirname(file), { recursive: true });
  const mark: HighWaterMark = { commit, recordedAt: now.toISOString(), ...(branch ? { branch } : {}) };
  await writeFileAtomic(file, `${JSON.stringify(mark, null, 2)}\n`);
}
