import { close, constants, fstat, open, type Stats } from 'node:fs';
import { IntegrityError, SizeLimitError } from '../errors/index.js';
import { readSmallFileSync } from '../util/read-small-file.js';
import { findTool, systemDecompressor, toolOutput } from './decompress-tool.js';
import { narTooBig, type NarInfo } from './narinfo.js';
import { spawnToolReader, type ToolReader } from './tool-reader.js';

// A compressed NAR in a local cache (nix+file://) is read by the decompressor itself, as its stdin, and its
// FileHash computed by `openssl dgst` reading it too, instead of every compressed byte passing through
// this process (read, hashed, piped to the tool): a cold zstd fetch of the 150 MB benchmark closure went
// from 0.89 to 0.80 s and its peak RSS from 124 to 90 MB (docs/nix.md). openssl because it hashes with
// the CPU's SHA instructions: coreutils' sha256sum took 5× its CPU here, which ate the gain. Both tools get
// descriptors we opened without following a symlink, checked to be the same regular file. What the
// decompressor outputs is still capped and hashed here against the signed NarHash, so a file changed
// under us can fail a fetch but never pass one.

/** The checksum tool and its arguments: sha256 of stdin, printed as `HEX *stdin`. */
const CHECKSUM = ['openssl', ['dgst', '-sha256', '-r']] as const;

/** A local NAR file being decompressed by its tool, and its size and sha256 as CHECKSUM reads them. */
export interface LocalNar {
  /** The decompressor's output, capped at the signed NarSize (SizeLimitError past it). */
  decompressed: ToolReader;
  /** The file's size and (when the narinfo has a FileHash) its sha256; rejects when the checksum tool fails. */
  file: Promise<{ bytes: number; digest?: Buffer }>;
  /** Stops the checksum tool (the decompression failed). */
  cancel(): void;
}

/**
 * Opens a file of a local cache for reading without following a symlink. O_NONBLOCK: a FIFO in the
 * cache's place would otherwise block the open until a writer came; it is then refused as not a regular
 * file (reads of a regular file ignore the flag).
 */
export const openFd = (path: string): Promise<number> =>
  new Promise((resolve, reject) => open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK, (err, fd) => (err ? reject(err) : resolve(fd))));
export const statFd = (fd: number): Promise<Stats> => new Promise((resolve, reject) => fstat(fd, (err, st) => (err ? reject(err) : resolve(st))));
export const closeFd = (fd: number): void => close(fd, () => undefined);

/**
 * Opens the NAR file of `info` (at `path()`, its place in a local cache, if any) for its system decompressor, or
 * undefined when this does not apply: no system tool for its compression, a FileHash to check and no
 * `openssl`, or a file that cannot be opened so (missing, a symlink, a bad name), which the caller's
 * general path then reads and words the error of. SizeLimitError when the file is larger than `cap`;
 * IntegrityError when it is not a regular file.
 */
export async function openLocalNar(path: () => string | undefined, info: NarInfo, cap: number, signal?: AbortSignal): Promise<LocalNar | undefined> {
  const c = info.compression;
  const tool = c === 'zstd' || c === 'xz' || c === 'bzip2' ? systemDecompressor(c) : null;
  const hasher = info.fileHash === undefined ? undefined : findTool(CHECKSUM[0]);
  if (tool === null || hasher === null) return undefined;
  const what = `NAR file of ${info.storePath} (${info.url})`;
  const fds: number[] = [];
  try {
    let at: string | undefined;
    try {
      at = path();
      if (at === undefined) return undefined;
      fds.push(await openFd(at));
    } catch {
      return undefined;
    }
    const st = await statFd(fds[0] as number);
    if (!st.isFile()) throw new IntegrityError(`${what} is not a regular file`, { storePath: info.storePath });
    if (st.size > cap) throw new SizeLimitError(`NAR file of ${info.storePath} is larger than ${cap} bytes (its FileSize or NarSize)`, { storePath: info.storePath, maxBytes: cap });
    if (hasher !== undefined) {
      fds.push(await openFd(at));
      const again = await statFd(fds[1] as number);
      if (again.dev !== st.dev || again.ino !== st.ino) throw new IntegrityError(`${what} was replaced while being opened`, { storePath: info.storePath });
    }
    const stop = new AbortController();
    const onAbort = (): void => stop.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    // The decompressor first: its output is what the fetch waits for; the checksum only by the end.
    const decompressed = await spawnToolReader(tool.file, tool.args, { stdin: fds[0] as number, cap: info.narSize, tooBig: () => narTooBig(info), ...(signal ? { signal } : {}) });
    const hashed = hasher === undefined ? Promise.resolve(undefined) : toolOutput(hasher, CHECKSUM[1], fds[1] as number, stop.signal);
    const file = hashed
      .then((out) => {
        if (out === undefined) return { bytes: st.size };
        const hex = /^([0-9a-f]{64})\b/.exec(out)?.[1];
        if (hex === undefined) throw new Error(`${hasher} printed no sha256: ${out.slice(0, 200)}`);
        return { bytes: st.size, digest: Buffer.from(hex, 'hex') };
      })
      .finally(() => signal?.removeEventListener('abort', onAbort));
    return { decompressed, file, cancel: () => stop.abort() };
  } finally {
    // The tools hold their own copies of the descriptors.
    for (const fd of fds) closeFd(fd);
  }
}

/**
 * The NAR file of `info` at `path()` (its place in a local cache) read at once on this thread, for a
 * small NAR decompressed in this process (decompress.ts), which is decoded whole anyway: where reading it
 * as a stream cost four turns through libuv's pool (open, fstat, read, close), ~0.8 ms a file, 0.24 s of
 * the main thread for 301 small paths. Not following a symlink, as openLocalNar. Undefined when it cannot
 * be opened so (missing, a symlink, a bad name): the stream path then reads it and words the error.
 * SizeLimitError when it is larger than `cap`; IntegrityError when it is not a regular file.
 */
export function readLocalSmallNar(path: () => string | undefined, info: NarInfo, cap: number): Buffer | undefined {
  let got;
  try {
    const at = path();
    if (at === undefined) return undefined;
    got = readSmallFileSync(at, cap, true);
  } catch {
    return undefined;
  }
  if (got.kind === 'not-file') throw new IntegrityError(`NAR file of ${info.storePath} (${info.url}) is not a regular file`, { storePath: info.storePath });
  if (got.kind === 'too-big') throw new SizeLimitError(`NAR file of ${info.storePath} is larger than ${cap} bytes (its FileSize or NarSize)`, { storePath: info.storePath, maxBytes: cap });
  return got.bytes;
}
