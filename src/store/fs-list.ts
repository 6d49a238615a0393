import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

function isErrno(err: unknown, ...codes: string[]): boolean {
  return codes.includes((err as NodeJS.ErrnoException | null)?.code ?? '');
}

/**
 * Walks a directory store and yields, in lexicographic key order, every key that starts with `prefix` and
 * sorts after `after`. Directory entries are ordered by `name + "/"` so a depth-first walk is also key order
 * ("a-c" < "a/b"). Names starting with "." (temp, lock and etag files) are not keys. Whole subtrees outside
 * the prefix or before the cursor are never read.
 */
export async function* walkKeys(root: string, prefix: string, after?: string): AsyncGenerator<string> {
  const base = prefix.slice(0, prefix.lastIndexOf('/') + 1);
  yield* walkDir(join(root, ...base.split('/').filter(Boolean)), base, prefix, after);
}

async function* walkDir(dir: string, dirKey: string, prefix: string, after?: string): AsyncGenerator<string> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ENOTDIR')) return;
    throw err;
  }
  const items = entries
    .filter((e) => !e.name.startsWith('.') && (e.isDirectory() || e.isFile()))
    .map((e) => ({ name: e.name, isDir: e.isDirectory(), full: dirKey + e.name + (e.isDirectory() ? '/' : '') }))
    .sort((a, b) => (a.full < b.full ? -1 : a.full > b.full ? 1 : 0));
  for (const it of items) {
    if (it.isDir) {
      if (!it.full.startsWith(prefix) && !prefix.startsWith(it.full)) continue;
      if (after !== undefined && it.full < after && !after.startsWith(it.full)) continue;
      yield* walkDir(join(dir, it.name), it.full, prefix, after);
    } else {
      if (!it.full.startsWith(prefix)) continue;
      if (after !== undefined && it.full <= after) continue;
      yield it.full;
    }
  }
}
