import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir, tempNameFor } from '../util/atomic-write.js';
import { MAX_NARINFO_BYTES, parseNarInfo, type NarInfo } from './narinfo.js';
import { formatNarInfo } from './narinfo-format.js';
import { narInfoCacheDirUnder } from './root-layout.js';
import { verifyNarInfo, type NixTrustPolicy } from './signatures.js';
import { parseStorePath } from './store-path.js';

// Why a narinfo kept on disk is as good as the cache's: a store path names its contents for good, and what
// a narinfo says that matters (StorePath, NarHash, NarSize, References) is covered by its signature, which
// is verified again under the trust of the run that reads it, as Nix re-checks the narinfos of its own
// disk cache (~/.cache/nix/binary-cache-v6.sqlite). URL, Compression and FileHash name one cache's file:
// a kept narinfo is only used for a path already placed, whose NAR is never read again.

function fileOf(root: string, storePath: string): string {
  return join(narInfoCacheDirUnder(root), `${parseStorePath(storePath).hash}.narinfo`);
}

/**
 * The narinfo of `storePath` kept under `root` by keepNarInfos, parsed and signature-verified under
 * `trust`; undefined when there is none, or it is malformed, names another path or no longer has enough
 * trusted signatures (the caller then reads the cache, as when nothing was kept). Never throws.
 */
export async function readKeptNarInfo(root: string, storePath: string, trust: NixTrustPolicy): Promise<NarInfo | undefined> {
  try {
    const bytes = await readFile(fileOf(root, storePath));
    if (bytes.length > MAX_NARINFO_BYTES) return undefined;
    const info = parseNarInfo(bytes.toString('utf8'), storePath);
    verifyNarInfo(info, trust);
    return info;
  } catch {
    return undefined;
  }
}

/**
 * Keeps each of `infos` (verified narinfos of paths now placed under `root`) for readKeptNarInfo: each
 * written under a temp name and flushed, then all renamed, then the directory flushed once. A crash leaves
 * whole files or none. Throws the file system's errors.
 */
export async function keepNarInfos(root: string, infos: readonly NarInfo[]): Promise<void> {
  if (infos.length === 0) return;
  const dir = narInfoCacheDirUnder(root);
  await mkdir(dir, { recursive: true });
  const files = infos.map((info) => ({ final: fileOf(root, info.storePath), temp: '', text: formatNarInfo(info) }));
  try {
    await Promise.all(files.map(async (f) => {
      f.temp = tempNameFor(f.final);
      const fh = await open(f.temp, 'wx', 0o644);
      try {
        await fh.writeFile(f.text);
        await fh.sync();
      } finally {
        await fh.close();
      }
    }));
    for (const f of files) await rename(f.temp, f.final);
  } catch (err) {
    await Promise.all(files.filter((f) => f.temp !== '').map((f) => rm(f.temp, { force: true })));
    throw err;
  }
  await fsyncDir(dir);
}
