// A floor for `npm run bench -- nix`: the least a correct fetch of uncompressed NARs does, in a fresh Node
// process, done the way `nix copy` does it: one thread and synchronous calls, each NAR read through one
// reused buffer, every byte hashed and the NAR's sha256 checked against its NarHash, its tree written as
// Nix writes one (folders, files read-only with their executable bit, symlinks, all with mtime 1). No
// narinfo, signature, temp name, flush or database: beside `nix copy` (which does all of those) what is
// left is Node's start and Node making the same calls. bare-nar-copy.ts is the floor under this one (no
// hash, no parse, one file per NAR).
//
//   node bare-nar-unpack.js DEST NAR@SHA256 ...   (SHA256: the NarHash in hex, as nar-floor-plan.ts gives it)
//
// Each NAR's tree is DEST/<its position>. Prints {"paths", "files", "bytes"} as JSON; exits 1 with the
// cause on an error: a hash that differs, a malformed NAR, an entry name that would leave its folder.
import { createHash, type Hash } from 'node:crypto';
import { chmodSync, closeSync, constants, futimesSync, lutimesSync, mkdirSync, openSync, readSync, symlinkSync, utimesSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const BUF_BYTES = 1 << 20;
/** Longest name or symlink target read (Linux's PATH_MAX); longer is refused as malformed. */
const MAX_STRING = 4096;
const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

interface Reader {
  what: string;
  fd: number;
  buf: Buffer;
  len: number;
  pos: number;
  hash: Hash;
  bytes: number;
  files: number;
}

/** Makes sure unread bytes are in the buffer, reading (and hashing) the next ones when it is used up. */
function fill(r: Reader): void {
  if (r.pos < r.len) return;
  r.len = readSync(r.fd, r.buf, 0, r.buf.length, null);
  r.pos = 0;
  if (r.len === 0) throw new Error(`${r.what}: the NAR ends early`);
  r.hash.update(r.buf.subarray(0, r.len));
  r.bytes += r.len;
}

/** Passes the next `n` bytes to `sink` (skips them without one), as many pieces as the buffer holds them. */
function take(r: Reader, n: number, sink?: (piece: Buffer) => void): void {
  for (let left = n; left > 0; ) {
    fill(r);
    const m = Math.min(left, r.len - r.pos);
    sink?.(r.buf.subarray(r.pos, r.pos + m));
    r.pos += m;
    left -= m;
  }
}

// The tokens are read in place when the buffer holds them whole (nearly always), copied out only across its end.
function u64(r: Reader): number {
  fill(r);
  let b = r.buf;
  let at = r.pos;
  if (r.len - r.pos >= 8) r.pos += 8;
  else {
    b = Buffer.alloc(8);
    at = 0;
    let got = 0;
    take(r, 8, (piece) => void (got += piece.copy(b, got)));
  }
  const high = b.readUInt32LE(at + 4);
  if (high >= 1 << 21) throw new Error(`${r.what}: a length over 2^53 bytes`);
  return high * 2 ** 32 + b.readUInt32LE(at);
}

const padding = (n: number): number => (8 - (n % 8)) % 8;

function str(r: Reader): string {
  const n = u64(r);
  if (n > MAX_STRING) throw new Error(`${r.what}: a string of ${n} bytes`);
  const end = r.pos + n + padding(n);
  if (end <= r.len) {
    const s = r.buf.toString('utf8', r.pos, r.pos + n);
    r.pos = end;
    return s;
  }
  const parts: Buffer[] = [];
  take(r, n, (piece) => void parts.push(Buffer.from(piece)));
  take(r, padding(n));
  return Buffer.concat(parts).toString('utf8');
}

function expect(r: Reader, token: string): void {
  const got = str(r);
  if (got !== token) throw new Error(`${r.what}: ${JSON.stringify(token)} expected, ${JSON.stringify(got.slice(0, 40))} found`);
}

function writeAll(fd: number, piece: Buffer): void {
  for (let at = 0; at < piece.length; ) at += writeSync(fd, piece, at);
}

/** Writes the NAR node that comes next at `path`, which must not exist. */
function unpackNode(r: Reader, path: string): void {
  expect(r, '(');
  expect(r, 'type');
  const type = str(r);
  if (type === 'regular') {
    let field = str(r);
    let mode = 0o444;
    if (field === 'executable') {
      expect(r, '');
      mode = 0o555;
      field = str(r);
    }
    if (field !== 'contents') throw new Error(`${r.what}: "contents" expected, ${JSON.stringify(field)} found`);
    const n = u64(r);
    const fd = openSync(path, CREATE, mode);
    try {
      take(r, n, (piece) => writeAll(fd, piece));
      futimesSync(fd, 1, 1);
    } finally {
      closeSync(fd);
    }
    take(r, padding(n));
    r.files++;
  } else if (type === 'symlink') {
    expect(r, 'target');
    symlinkSync(str(r), path);
    lutimesSync(path, 1, 1);
  } else if (type === 'directory') {
    mkdirSync(path, 0o755);
    for (let prev: string | undefined; ; ) {
      const field = str(r);
      if (field === ')') break;
      if (field !== 'entry') throw new Error(`${r.what}: "entry" expected, ${JSON.stringify(field)} found`);
      expect(r, '(');
      expect(r, 'name');
      const name = str(r);
      // Written under `path` only: a name with a slash, "." or ".." would leave it.
      if (name === '' || name === '.' || name === '..' || name.includes('/') || (prev !== undefined && name <= prev)) {
        throw new Error(`${r.what}: entry name ${JSON.stringify(name)} in ${path}`);
      }
      prev = name;
      expect(r, 'node');
      unpackNode(r, join(path, name));
      expect(r, ')');
    }
    chmodSync(path, 0o555);
    utimesSync(path, 1, 1);
    return;
  } else {
    throw new Error(`${r.what}: node type ${JSON.stringify(type)}`);
  }
  expect(r, ')');
}

/** Unpacks the NAR file `file` at `dest` and checks its sha256 against `sha256` (hex); returns its bytes and files. */
function unpackNarFile(file: string, sha256: string, dest: string): { bytes: number; files: number } {
  const r: Reader = { what: file, fd: openSync(file, 'r'), buf: Buffer.allocUnsafe(BUF_BYTES), len: 0, pos: 0, hash: createHash('sha256'), bytes: 0, files: 0 };
  try {
    expect(r, 'nix-archive-1');
    unpackNode(r, dest);
    if (r.pos < r.len || readSync(r.fd, r.buf, 0, 1, null) > 0) throw new Error(`${file}: bytes after the NAR's end`);
  } finally {
    closeSync(r.fd);
  }
  const got = r.hash.digest('hex');
  if (got !== sha256) throw new Error(`${file}: its sha256 is ${got}, its NarHash ${sha256}`);
  return { bytes: r.bytes, files: r.files };
}

function main(): void {
  const [dest, ...nars] = process.argv.slice(2);
  if (dest === undefined || nars.length === 0) throw new Error('usage: bare-nar-unpack.js DEST NAR@SHA256 ...');
  mkdirSync(dest, { recursive: true });
  let bytes = 0;
  let files = 0;
  nars.forEach((arg, i) => {
    const at = arg.lastIndexOf('@');
    if (at <= 0) throw new Error(`${arg}: not NAR@SHA256`);
    const n = unpackNarFile(arg.slice(0, at), arg.slice(at + 1), join(dest, String(i)));
    bytes += n.bytes;
    files += n.files;
  });
  process.stdout.write(`${JSON.stringify({ paths: nars.length, files, bytes })}\n`);
}

try {
  main();
} catch (err) {
  process.stderr.write(`bare-nar-unpack: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
