// A floor for `npm run bench -- nix`: the least a correct fetch of uncompressed NARs does, in a fresh Node
// process, done the way `nix copy` does it: one thread and synchronous calls, each NAR read through one
// reused buffer, every byte hashed and the NAR's sha256 checked against its NarHash, its tree written as
// Nix writes one (folders, files read-only with their executable bit, symlinks, all with mtime 1). No
// narinfo, signature, temp name, flush or database: beside `nix copy` (which does all of those) what is
// left is Node's start and Node making the same calls. bare-nar-copy.ts is the floor under this one (no
// hash, no parse, one file per NAR).
//
//   node bare-nar-unpack.js [--pool-writes] [--fifo FIFO] DEST NAR@SHA256[@FILESHA256] ...
//
// SHA256: the NarHash in hex, as nar-floor-plan.ts gives it. With a FILESHA256 the file is a zstd NAR, read
// as the fetch reads one from a local cache: the system's `zstd -dcq` decompresses it into FIFO (a named pipe
// the caller made, which this process reads with the same synchronous calls), and `openssl dgst` hashes the
// file beside it, checked against FILESHA256 (the FileHash, which the fetch checks and `nix copy` does not).
//
// --pool-writes: the same work on both cores, the least a fresh Node process can make of it here: a file over
// 1 MiB is copied out of the read buffer into 256 KiB slots written at their offsets on libuv's pool, up to
// 2 MiB behind, while this thread reads, hashes and parses on (what the fetch's own writes do, nar-unpack.ts).
//
// Each NAR's tree is DEST/<its position>. Prints {"paths", "files", "bytes"} as JSON; exits 1 with the
// cause on an error: a hash that differs, a malformed NAR, an entry name that would leave its folder, a
// tool that fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, type Hash } from 'node:crypto';
import { chmodSync, closeSync, constants, futimesSync, lutimesSync, mkdirSync, openSync, readSync, symlinkSync, utimesSync, write, writeSync } from 'node:fs';
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

/** Files over this many bytes go through the pool with --pool-writes (the fetch's SMALL_FILE). */
const POOL_FILE = 1 << 20;
const SLOT_BYTES = 256 * 1024;
/** Slots: 2 MiB written behind the parser, and one filling. */
const SLOTS = 9;

/** Writes `len` bytes of `buf` at `position` of `fd` on libuv's pool, retrying short writes. */
function writeOnPool(fd: number, buf: Buffer, len: number, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (done: number): void => {
      if (done === len) return resolve();
      write(fd, buf, done, len - done, position + done, (err, n) => {
        if (err) return reject(err);
        if (n === 0) return reject(new Error(`write on fd ${fd} wrote nothing`));
        step(done + n);
      });
    };
    step(0);
  });
}

/** Slots of SLOT_BYTES, each with its write in flight (or none), used in turn. */
interface PoolWrites {
  slots: Buffer[];
  busy: (Promise<void> | undefined)[];
}

/** The next `n` bytes of `r` into `fd` through `w`'s slots; resolves once every one of its writes is done. */
async function takeOnPool(r: Reader, n: number, fd: number, w: PoolWrites): Promise<void> {
  let slot = 0;
  let filled = 0;
  let position = 0;
  const submit = (): void => {
    const failed = writeOnPool(fd, w.slots[slot] as Buffer, filled, position);
    failed.catch(() => undefined); // awaited below, before the slot is filled again or the file ends
    w.busy[slot] = failed;
    position += filled;
    filled = 0;
    slot = (slot + 1) % SLOTS;
  };
  for (let left = n; left > 0; ) {
    fill(r);
    const m = Math.min(left, r.len - r.pos, SLOT_BYTES - filled);
    if (filled === 0) await w.busy[slot];
    r.buf.copy(w.slots[slot] as Buffer, filled, r.pos, r.pos + m);
    filled += m;
    r.pos += m;
    left -= m;
    if (filled === SLOT_BYTES) submit();
  }
  if (filled > 0) submit();
  for (let i = 0; i < SLOTS; i++) {
    await w.busy[i];
    w.busy[i] = undefined;
  }
}

/** Writes the NAR node that comes next at `path`, which must not exist; large files through `pool` when given. */
async function unpackNode(r: Reader, path: string, pool?: PoolWrites): Promise<void> {
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
      if (pool !== undefined && n > POOL_FILE) await takeOnPool(r, n, fd, pool);
      else take(r, n, (piece) => writeAll(fd, piece));
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
      await unpackNode(r, join(path, name), pool);
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

/** A child's exit and what it printed, once it closed: `out` is its stdout when piped. */
function closed(child: ChildProcess, what: string): Promise<string> {
  let out = '';
  let err = '';
  child.stdout?.on('data', (b: Buffer) => void (out += b.toString('utf8')));
  child.stderr?.on('data', (b: Buffer) => void (err += b.toString('utf8')));
  return new Promise((resolve, reject) => {
    child.on('error', (e) => reject(new Error(`${what} could not run: ${e.message}`)));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${what} failed (exit ${code}): ${err.trim()}`))));
  });
}

/**
 * The zstd NAR `file` decompressed by `zstd -dcq` into `fifo`, and hashed by `openssl dgst` beside it: the
 * descriptor to read the NAR from, and a promise of the file's sha256 in hex once both tools are done.
 */
function openZstdNar(file: string, fifo: string): { fd: number; tools: Promise<string> } {
  const forZstd = openSync(file, 'r');
  const forOpenssl = openSync(file, 'r'); // its own offset: the two read the file side by side
  // Opened read-write, the FIFO does not wait for a reader to open, and `zstd` never meets a FIFO with no
  // reader; once ours is closed, `zstd`'s copy is its only writer, so its exit ends what this process reads.
  const writer = openSync(fifo, constants.O_RDWR);
  let zstd: ChildProcess;
  let openssl: ChildProcess;
  try {
    zstd = spawn('zstd', ['-dcq'], { stdio: [forZstd, writer, 'pipe'] });
    openssl = spawn('openssl', ['dgst', '-sha256', '-r'], { stdio: [forOpenssl, 'pipe', 'pipe'] });
  } finally {
    closeSync(forZstd);
    closeSync(forOpenssl);
  }
  const fd = openSync(fifo, 'r');
  closeSync(writer);
  const decompressed = closed(zstd, `zstd -dcq < ${file}`);
  const hashed = closed(openssl, `openssl dgst < ${file}`);
  hashed.catch(() => undefined); // awaited through `tools`, after the NAR is read
  const tools = decompressed.then(() => hashed).then((out) => {
    const hex = /^([0-9a-f]{64})\b/.exec(out)?.[1];
    if (hex === undefined) throw new Error(`openssl dgst < ${file} printed no sha256: ${out.slice(0, 100)}`);
    return hex;
  });
  tools.catch(() => undefined); // not awaited when the NAR fails first, for a reason of its own
  return { fd, tools };
}

/** A NAR to unpack: the file, its NarHash, and for a zstd file the sha256 of the file itself (its FileHash). */
interface NarArg {
  file: string;
  sha256: string;
  fileSha256?: string;
}

/** Unpacks the NAR of `nar` at `dest` and checks its hashes; returns its bytes and files. */
async function unpackNarFile(nar: NarArg, dest: string, fifo: string | undefined, pool?: PoolWrites): Promise<{ bytes: number; files: number }> {
  const { file, sha256, fileSha256 } = nar;
  if (fileSha256 !== undefined && fifo === undefined) throw new Error(`${file}: a zstd NAR (its FileHash given) needs --fifo`);
  const zstd = fileSha256 === undefined || fifo === undefined ? undefined : openZstdNar(file, fifo);
  const r: Reader = { what: file, fd: zstd?.fd ?? openSync(file, 'r'), buf: Buffer.allocUnsafe(BUF_BYTES), len: 0, pos: 0, hash: createHash('sha256'), bytes: 0, files: 0 };
  try {
    expect(r, 'nix-archive-1');
    await unpackNode(r, dest, pool);
    if (r.pos < r.len || readSync(r.fd, r.buf, 0, 1, null) > 0) throw new Error(`${file}: bytes after the NAR's end`);
  } catch (err) {
    // Output that ended early, from a decompressor that failed: its own words say why.
    if (zstd !== undefined && (err as Error).message.endsWith('the NAR ends early')) await zstd.tools;
    throw err;
  } finally {
    closeSync(r.fd);
  }
  if (zstd !== undefined) {
    const got = await zstd.tools;
    if (got !== fileSha256) throw new Error(`${file}: the file's sha256 is ${got}, its FileHash ${fileSha256}`);
  }
  const got = r.hash.digest('hex');
  if (got !== sha256) throw new Error(`${file}: its sha256 is ${got}, its NarHash ${sha256}`);
  return { bytes: r.bytes, files: r.files };
}

const NAR_ARG = /^(.+?)@([0-9a-f]{64})(?:@([0-9a-f]{64}))?$/;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let poolWrites = false;
  let fifo: string | undefined;
  while (args[0]?.startsWith('--') === true) {
    const flag = args.shift();
    if (flag === '--pool-writes') poolWrites = true;
    else if (flag === '--fifo' && args[0] !== undefined) fifo = args.shift();
    else throw new Error(`${flag}: not a flag of bare-nar-unpack.js`);
  }
  const [dest, ...nars] = args;
  if (dest === undefined || nars.length === 0) throw new Error('usage: bare-nar-unpack.js [--pool-writes] [--fifo FIFO] DEST NAR@SHA256[@FILESHA256] ...');
  const plan = nars.map((arg): NarArg => {
    const m = NAR_ARG.exec(arg);
    if (m === null) throw new Error(`${arg}: not NAR@SHA256 or NAR@SHA256@FILESHA256 (hex)`);
    return { file: m[1] as string, sha256: m[2] as string, ...(m[3] === undefined ? {} : { fileSha256: m[3] }) };
  });
  mkdirSync(dest, { recursive: true });
  // One allocation for every slot, made only when used.
  const pool = poolWrites ? { slots: Array.from({ length: SLOTS }, () => Buffer.allocUnsafe(SLOT_BYTES)), busy: new Array<Promise<void> | undefined>(SLOTS).fill(undefined) } : undefined;
  let bytes = 0;
  let files = 0;
  for (const [i, nar] of plan.entries()) {
    const n = await unpackNarFile(nar, join(dest, String(i)), fifo, pool);
    bytes += n.bytes;
    files += n.files;
  }
  process.stdout.write(`${JSON.stringify({ paths: nars.length, files, bytes })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bare-nar-unpack: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
