import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { objectsDir, parseObjectFileName } from '../generations/layout.js';
import { hashFile } from '../packages/hash-file.js';
import type { Digest } from '../store/digest.js';
import type { Damage } from './fsck-types.js';

/**
 * Re-hashes every object of the cache (STATE/objects/sha256/XX/<hex>[.x]) against its name, or only those
 * in `only`. A file that is no regular file, hashes to another digest, or an executable twin without its
 * x bits is damage. Stray names are left alone (temp and unknown files are not objects). Throws fs errors
 * other than a missing cache.
 */
export async function checkObjects(stateDir: string, only?: ReadonlySet<Digest>): Promise<{ damaged: Array<Damage & { digest: Digest }>; checked: number }> {
  const root = objectsDir(stateDir);
  const shards = await readdir(root).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  const damaged: Array<Damage & { digest: Digest }> = [];
  let checked = 0;
  for (const shard of shards.sort()) {
    if (!/^[0-9a-f]{2}$/.test(shard)) continue;
    for (const name of (await readdir(join(root, shard))).sort()) {
      const parsed = parseObjectFileName(name);
      if (parsed === undefined || (only !== undefined && !only.has(parsed.digest))) continue;
      const path = join(root, shard, name);
      checked += 1;
      const st = await lstat(path);
      if (!st.isFile()) {
        damaged.push({ kind: 'object', digest: parsed.digest, path, problem: 'not a regular file', expected: 'regular file', actual: st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'directory' : 'special file' });
        continue;
      }
      const { digest } = await hashFile(path, st.size);
      if (digest !== parsed.digest) damaged.push({ kind: 'object', digest: parsed.digest, path, problem: 'content does not match its name', expected: parsed.digest, actual: digest });
      else if (parsed.executable && (st.mode & 0o111) === 0) damaged.push({ kind: 'object', digest: parsed.digest, path, problem: 'executable twin lost its x bits', expected: 'mode 0555', actual: `mode 0${(st.mode & 0o777).toString(8)}` });
    }
  }
  return { damaged, checked };
}
