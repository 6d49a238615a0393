// The head pointer: a small store object naming the commit a deploy repo's branch points at, so agents can
// learn "nothing moved" with one conditional GET instead of asking git. It is only a hint: agents ask git
// when it moves (and at a long safety interval), and verify whatever git gives them as before.
import { IntegrityError } from '../errors/index.js';
import { headPointerKey } from './keys.js';

/** The `schema` field of every head pointer. */
export const HEAD_POINTER_SCHEMA = 'flotilla.head-pointer/v1';

/** Pointers are a few hundred bytes; anything past this is refused unread. */
export const MAX_HEAD_POINTER_BYTES = 4096;

/** A head pointer as stored at `heads/<branch>.json`. */
export interface HeadPointer {
  schema: typeof HEAD_POINTER_SCHEMA;
  branch: string;
  /** The branch's head commit id (40 hex digits; 64 for a SHA-256 repository). */
  commit: string;
  /** When the writer wrote it (RFC 3339). */
  writtenAt: string;
  /** Who wrote it: `ci`, a machine name, a host name; for people reading the store. */
  writer: string;
}

const COMMIT = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** The pointer's bytes: one line of JSON. */
export function encodeHeadPointer(p: Omit<HeadPointer, 'schema'>): Buffer {
  const body: HeadPointer = { schema: HEAD_POINTER_SCHEMA, branch: p.branch, commit: p.commit, writtenAt: p.writtenAt, writer: p.writer };
  return Buffer.from(`${JSON.stringify(body)}\n`);
}

function refuse(why: string, key: string): never {
  throw new IntegrityError(`head pointer ${key}: ${why}`, { key });
}

/**
 * Parses a pointer strictly: the schema, a `branch` equal to the one asked for (a pointer copied to another
 * branch's key is refused), a lowercase hex commit id, strings for `writtenAt` and `writer` (at most 200
 * characters). Throws IntegrityError naming the key and what is wrong.
 */
export function parseHeadPointer(bytes: Buffer, branch: string): HeadPointer {
  const key = headPointerKey(branch);
  if (bytes.length > MAX_HEAD_POINTER_BYTES) refuse(`${bytes.length} bytes, over ${MAX_HEAD_POINTER_BYTES}`, key);
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    return refuse('not JSON', key);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return refuse('not a JSON object', key);
  const o = v as Record<string, unknown>;
  if (o['schema'] !== HEAD_POINTER_SCHEMA) refuse(`schema is not ${HEAD_POINTER_SCHEMA}`, key);
  if (o['branch'] !== branch) refuse(`names branch ${JSON.stringify(o['branch'])}, not ${branch}`, key);
  const commit = o['commit'];
  if (typeof commit !== 'string' || !COMMIT.test(commit)) refuse('commit is not a lowercase hex commit id', key);
  const short = (f: string): string => {
    const s = o[f];
    if (typeof s !== 'string' || s.length > 200) refuse(`${f} is not a string of at most 200 characters`, key);
    return s;
  };
  return { schema: HEAD_POINTER_SCHEMA, branch, commit, writtenAt: short('writtenAt'), writer: short('writer') };
}
