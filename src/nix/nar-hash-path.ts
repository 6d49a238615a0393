import { createHash, type Hash } from 'node:crypto';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { formatSha256 } from './hash.js';

// Serialises an on-disk tree as Nix's dumpPath does (libutil/archive.cc) and hashes it without building the
// NAR: a placed store path is intact exactly when this equals the NarHash it was verified against.

const PAD = Buffer.alloc(8);
const READ_CHUNK = 1 << 20;

function str(h: Hash, s: Buffer | string): number {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(b.length));
  h.update(len);
  h.update(b);
  const pad = (8 - (b.length % 8)) % 8;
  if (pad > 0) h.update(PAD.subarray(0, pad));
  return 8 + b.length + pad;
}

async function dump(h: Hash, path: string): Promise<number> {
  const st = await lstat(path);
  let n = str(h, '(') + str(h, 'type');
  if (st.isSymbolicLink()) {
    n += str(h, 'symlink') + str(h, 'target') + str(h, await readlink(path, { encoding: 'buffer' }));
  } else if (st.isDirectory()) {
    n += str(h, 'directory');
    const names = (await readdir(path, { encoding: 'buffer' })).sort((a, b) => Buffer.compare(a, b));
    for (const name of names) {
      n += str(h, 'entry') + str(h, '(') + str(h, 'name') + str(h, name) + str(h, 'node');
      n += await dump(h, join(path, name.toString()));
      n += str(h, ')');
    }
  } else if (st.isFile()) {
    n += str(h, 'regular');
    if ((st.mode & 0o100) !== 0) n += str(h, 'executable') + str(h, '');
    n += str(h, 'contents') + (await contents(h, path, st.size));
  } else {
    // A device, FIFO or socket cannot come from a NAR: hash a marker no NAR has, so it never matches.
    h.update(`unsupported file type ${st.mode}`);
    n += 1;
  }
  return n + str(h, ')');
}

/**
 * The file's length-prefixed, padded contents. The prefix is lstat's size and the bytes are those read, so a
 * file that changes between the two hashes to something no NAR has.
 */
async function contents(h: Hash, path: string, size: number): Promise<number> {
  const fh = await open(path, 'r');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(size));
    h.update(len);
    const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(size, 1)));
    let total = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      total += bytesRead;
    }
    const pad = (8 - (total % 8)) % 8;
    if (pad > 0) h.update(PAD.subarray(0, pad));
    return 8 + total + pad;
  } finally {
    await fh.close();
  }
}

/**
 * The NAR hash (`sha256:<base-32>`) and NAR size of the tree at `path` as Nix would serialise it
 * (`nix-store --dump PATH | sha256`), read without writing anything. Throws the filesystem's errors
 * (ENOENT for a missing path).
 */
export async function narHashOfPath(path: string): Promise<{ narHash: string; narSize: number }> {
  const h = createHash('sha256');
  const narSize = str(h, 'nix-archive-1') + (await dump(h, path));
  return { narHash: formatSha256(h.digest()), narSize };
}
