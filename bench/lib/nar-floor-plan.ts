import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseSha256 } from '../../src/nix/hash.js';

/** A narinfo's lines as the floors need them; throws naming the narinfo when its URL line is missing. */
async function readFloorNarInfo(cacheDir: string, storePath: string): Promise<{ file: string; nar: string; compression: string; narHash?: string; fileHash?: string }> {
  const hash = (storePath.split('/').pop() ?? '').slice(0, 32);
  const file = join(cacheDir, `${hash}.narinfo`);
  const text = await readFile(file, 'utf8');
  const field = (name: string): string | undefined => new RegExp(`^${name}: (.+)$`, 'm').exec(text)?.[1];
  const url = field('URL');
  if (url === undefined) throw new Error(`${file}: no URL line`);
  const narHash = field('NarHash');
  const fileHash = field('FileHash');
  return { file, nar: join(cacheDir, url), compression: field('Compression') ?? 'bzip2', ...(narHash === undefined ? {} : { narHash }), ...(fileHash === undefined ? {} : { fileHash }) };
}

/**
 * The NAR files of `storePaths` in the `file://` binary cache `cacheDir`, as bare-nar-copy.ts takes them
 * (`FILE` or `FILE:zstd`), read from each path's narinfo (its URL and Compression lines). Throws naming the
 * narinfo when a line is missing or the compression is neither none nor zstd (the floor decompresses only those).
 */
export async function narFloorArgs(cacheDir: string, storePaths: readonly string[]): Promise<string[]> {
  return Promise.all(
    storePaths.map(async (p) => {
      const { file, nar, compression } = await readFloorNarInfo(cacheDir, p);
      if (compression !== 'none' && compression !== 'zstd') throw new Error(`${file}: Compression ${compression}: the floor copies only none and zstd NARs`);
      return compression === 'zstd' ? `${nar}:zstd` : nar;
    }),
  );
}

/**
 * The NAR files of `storePaths` in `cacheDir` with their NarHash in hex, as bare-nar-unpack.ts takes them:
 * `FILE@SHA256` uncompressed, `FILE@SHA256@FILESHA256` from zstd (the file's own sha256, its FileHash, which
 * the floor checks as the fetch does). Throws naming the narinfo when a line is missing, a hash is not a
 * sha256, or the compression is neither none nor zstd (the floor reads only those).
 */
export async function narUnpackFloorArgs(cacheDir: string, storePaths: readonly string[]): Promise<string[]> {
  return Promise.all(
    storePaths.map(async (p) => {
      const { file, nar, compression, narHash, fileHash } = await readFloorNarInfo(cacheDir, p);
      if (compression !== 'none' && compression !== 'zstd') throw new Error(`${file}: Compression ${compression}: the unpacking floor reads only uncompressed and zstd NARs`);
      if (narHash === undefined) throw new Error(`${file}: no NarHash line`);
      const arg = `${nar}@${parseSha256(narHash, `${file}: NarHash`).toString('hex')}`;
      if (compression === 'none') return arg;
      if (fileHash === undefined) throw new Error(`${file}: no FileHash line (the floor checks it, as the fetch does)`);
      return `${arg}@${parseSha256(fileHash, `${file}: FileHash`).toString('hex')}`;
    }),
  );
}
