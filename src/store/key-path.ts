import { join } from 'node:path';
import { InvalidNameError } from '../errors/index.js';

const MAX_KEY_LENGTH = 1024;

/**
 * Checks that `key` is a store key every backend can hold: relative, slash-separated, non-empty segments,
 * no `.`/`..`, no segment starting with `.` (the directory store reserves those for temp, lock and etag
 * files), no backslash or control characters, at most 1,024 characters. Throws InvalidNameError naming it.
 */
export function checkKey(key: string): string {
  const bad = (why: string): never => {
    throw new InvalidNameError(`store key ${JSON.stringify(key.slice(0, 200))} ${why}`, { key: key.slice(0, 200) });
  };
  if (key.length === 0) bad('is empty');
  if (key.length > MAX_KEY_LENGTH) bad(`is longer than ${MAX_KEY_LENGTH} characters`);
  if (/[\u0000-\u001f\u007f\\]/.test(key)) bad('contains a control character or a backslash');
  for (const seg of key.split('/')) {
    if (seg === '') bad('has an empty segment (leading, trailing or double slash)');
    if (seg.startsWith('.')) bad('has a segment starting with "."');
  }
  return key;
}

/**
 * Checks a listing prefix: empty, or a key prefix that may end with `/` or mid-segment.
 * Throws InvalidNameError like `checkKey`.
 */
export function checkPrefix(prefix: string): string {
  if (prefix === '') return prefix;
  const body = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  if (body === '') throw new InvalidNameError('store prefix "/" is not allowed; use "" for everything', { prefix });
  checkKey(body);
  return prefix;
}

/** The file path of a (checked) key under a directory store's root. */
export function keyPath(root: string, key: string): string {
  return join(root, ...checkKey(key).split('/'));
}
