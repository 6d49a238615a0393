import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir } from '../util/atomic-write.js';
import { narInfoCacheDirUnder, registeredRecordUnder } from './root-layout.js';
import { parseStorePath } from './store-path.js';
import { writeNixFileAtomic } from './temp-names.js';

function parseOr(storePath: string): string | undefined {
  try {
    return parseStorePath(storePath).hash;
  } catch {
    return undefined;
  }
}

/**
 * Drops what ROOT/nix/var/flotilla keeps about `storePaths` (about to be deleted from ROOT/nix/store): each
 * kept `<hash>.narinfo` and each entry of registered.json (rewritten atomically, only when it changes).
 * Call it before deleting the paths: a crash in between leaves a path without its records, which costs
 * only a narinfo read or a nix-store run, never a record vouching for a path that is gone. A record
 * that cannot be parsed is left as is (its reader ignores it). Throws the file system's errors.
 */
export async function forgetNixPaths(root: string, storePaths: readonly string[]): Promise<void> {
  if (storePaths.length === 0) return;
  const dir = narInfoCacheDirUnder(root);
  for (const p of storePaths) {
    // An entry of ROOT/nix/store that is no store path (a stray file) has no kept narinfo.
    const hash = parseOr(p);
    if (hash !== undefined) await rm(join(dir, `${hash}.narinfo`), { force: true });
  }
  await fsyncDir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
  const file = registeredRecordUnder(root);
  let record: unknown;
  try {
    record = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return;
  }
  if (typeof record !== 'object' || record === null || !('paths' in record)) return;
  const paths = record.paths;
  if (typeof paths !== 'object' || paths === null) return;
  const gone = storePaths.filter((p) => Object.hasOwn(paths, p));
  if (gone.length === 0) return;
  const kept = Object.fromEntries(Object.entries(paths).filter(([p]) => !gone.includes(p)));
  await writeNixFileAtomic(file, `${JSON.stringify({ ...record, paths: kept }, null, 1)}\n`);
}
