import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The NAR files of `storePaths` in the `file://` binary cache `cacheDir`, as bare-nar-copy.ts takes them
 * (`FILE` or `FILE:zstd`), read from each path's narinfo (its URL and Compression lines). Throws naming the
 * narinfo when a line is missing or the compression is neither none nor zstd (the floor decompresses only those).
 */
export async function narFloorArgs(cacheDir: string, storePaths: readonly string[]): Promise<string[]> {
  return Promise.all(
    storePaths.map(async (p) => {
      const hash = (p.split('/').pop() ?? '').slice(0, 32);
      const file = join(cacheDir, `${hash}.narinfo`);
      const text = await readFile(file, 'utf8');
      const field = (name: string): string | undefined => new RegExp(`^${name}: (.+)$`, 'm').exec(text)?.[1];
      const url = field('URL');
      const compression = field('Compression') ?? 'bzip2';
      if (url === undefined) throw new Error(`${file}: no URL line`);
      if (compression !== 'none' && compression !== 'zstd') throw new Error(`${file}: Compression ${compression}: the floor copies only none and zstd NARs`);
      return compression === 'zstd' ? `${join(cacheDir, url)}:zstd` : join(cacheDir, url);
    }),
  );
}
