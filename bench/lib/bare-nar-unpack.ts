// A floor for `npm run bench -- nix`: the least a fresh Node process can do to unpack a closure's NARs into
// its store, as any fetch must (`nix copy` too): every NAR read (or streamed out of `zstd -dc`, on
// another core), sha256 of every byte, and its tree written: directories, files (created, written
// synchronously from the bytes as they arrive, never buffered whole) and symlinks. No narinfo, signature,
// temp name, rename, registration or flush. With LANES > 1 the NARs are shared out to that many worker
// threads, so the kernel's file work spreads over cores.
//
//   node bare-nar-unpack.js DEST LANES NAR[:zstd] ...     (the i-th NAR's tree at DEST/i)
//
// Prints {"files", "bytes"} (regular files written, NAR bytes) as JSON; exits 1 on an error.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, mkdirSync, openSync, symlinkSync, writeSync } from 'node:fs';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { Readable } from 'node:stream';

interface Tally {
  files: number;
  bytes: number;
}

/** What the parser asks of its driver: the next `bytes` whole, or the next `contents` bytes written to `fd`. */
type Need = { bytes: number } | { contents: number; fd: number };
type Parse<T> = Generator<Need, T, Buffer | undefined>;

const pad8 = (n: number): number => (8 - (n % 8)) % 8;

function* str(): Parse<string> {
  const len = Number((yield { bytes: 8 })?.readBigUInt64LE(0));
  if (len === 0) return '';
  const b = yield { bytes: len + pad8(len) };
  return (b as Buffer).toString('utf8', 0, len);
}

function* expect(...tokens: string[]): Parse<void> {
  for (const t of tokens) {
    const got = yield* str();
    if (got !== t) throw new Error(`NAR: expected ${JSON.stringify(t)}, got ${JSON.stringify(got.slice(0, 40))}`);
  }
}

/** One node at `path`, its "(" already read. */
function* node(path: string, tally: Tally): Parse<void> {
  yield* expect('type');
  const type = yield* str();
  if (type === 'directory') {
    mkdirSync(path);
    for (let t = yield* str(); t !== ')'; t = yield* str()) {
      if (t !== 'entry') throw new Error(`NAR: expected "entry", got ${JSON.stringify(t)}`);
      yield* expect('(', 'name');
      const name = yield* str();
      yield* expect('node', '(');
      yield* node(`${path}/${name}`, tally);
      yield* expect(')');
    }
  } else if (type === 'symlink') {
    yield* expect('target');
    symlinkSync(yield* str(), path);
    yield* expect(')');
  } else if (type === 'regular') {
    let t = yield* str();
    const executable = t === 'executable';
    if (executable) {
      yield* expect('');
      t = yield* str();
    }
    if (t !== 'contents') throw new Error(`NAR: expected "contents", got ${JSON.stringify(t)}`);
    const len = Number((yield { bytes: 8 })?.readBigUInt64LE(0));
    const fd = openSync(path, 'wx', executable ? 0o555 : 0o444);
    tally.files++;
    yield { contents: len, fd };
    closeSync(fd);
    if (pad8(len) > 0) yield { bytes: pad8(len) };
    yield* expect(')');
  } else throw new Error(`NAR: unknown type ${JSON.stringify(type)}`);
}

function* nar(dest: string, tally: Tally): Parse<void> {
  yield* expect('nix-archive-1', '(');
  yield* node(dest, tally);
}

/** Drives `nar` with a stream's chunks, hashing them all; resolves once the NAR ended where its stream did. */
function unpack(source: Readable, dest: string, tally: Tally): Promise<void> {
  const parse = nar(dest, tally);
  const hash = createHash('sha256');
  let need: Need | undefined = parse.next().value as Need;
  let held: Buffer[] = [];
  let heldBytes = 0;
  const advance = (b?: Buffer): void => {
    const r = parse.next(b);
    need = r.done === true ? undefined : r.value;
  };
  return new Promise((resolve, reject) => {
    source.on('data', (chunk: Buffer) => {
      try {
        hash.update(chunk);
        tally.bytes += chunk.length;
        let off = 0;
        while (need !== undefined && (off < chunk.length || ('contents' in need && need.contents === 0))) {
          if ('contents' in need) {
            const take = Math.min(need.contents, chunk.length - off);
            for (let w = 0; w < take; ) w += writeSync(need.fd, chunk, off + w, take - w);
            need.contents -= take;
            off += take;
            if (need.contents === 0) advance();
          } else {
            const take = Math.min(need.bytes - heldBytes, chunk.length - off);
            held.push(chunk.subarray(off, off + take));
            heldBytes += take;
            off += take;
            if (heldBytes === need.bytes) {
              const b = held.length === 1 ? (held[0] as Buffer) : Buffer.concat(held, heldBytes);
              held = [];
              heldBytes = 0;
              advance(b);
            }
          }
        }
        if (off < chunk.length) throw new Error('NAR: bytes after its end');
      } catch (err) {
        source.destroy(err as Error);
      }
    });
    source.once('error', reject);
    source.once('end', () => {
      hash.digest();
      if (need === undefined) resolve();
      else reject(new Error('NAR: truncated'));
    });
  });
}

/** The NAR's bytes: the file itself, or what `zstd -dc` makes of it (failing with its stderr). */
function narSource(arg: string): Readable {
  if (!arg.endsWith(':zstd')) return createReadStream(arg, { highWaterMark: 1 << 20 });
  const child = spawn('zstd', ['-dcq', arg.slice(0, -':zstd'.length)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  child.once('close', (code) => {
    if (code !== 0) child.stdout.destroy(new Error(`zstd -dc ${arg}: exit ${code}: ${stderr.trim()}`));
  });
  return child.stdout;
}

interface Lane {
  dest: string;
  nars: Array<[index: number, arg: string]>;
}

async function runLane(lane: Lane): Promise<Tally> {
  const tally: Tally = { files: 0, bytes: 0 };
  await Promise.all(lane.nars.map(([i, arg]) => unpack(narSource(arg), `${lane.dest}/${i}`, tally).catch((err: Error) => Promise.reject(new Error(`${arg}: ${err.message}`)))));
  return tally;
}

function runWorker(lane: Lane): Promise<Tally> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: lane });
    w.once('message', (t: Tally) => resolve(t));
    w.once('error', reject);
    w.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`lane exited ${code}`))));
  });
}

async function main(): Promise<void> {
  const [dest, lanesArg, ...nars] = process.argv.slice(2);
  const lanes = Number(lanesArg);
  if (dest === undefined || !(Number.isInteger(lanes) && lanes >= 1) || nars.length === 0) throw new Error('usage: bare-nar-unpack.js DEST LANES NAR[:zstd] ...');
  mkdirSync(dest, { recursive: true });
  const shares: Lane[] = Array.from({ length: Math.min(lanes, nars.length) }, () => ({ dest, nars: [] }));
  nars.forEach((arg, i) => shares[i % shares.length]?.nars.push([i, arg]));
  const parts = lanes === 1 ? [await runLane(shares[0] as Lane)] : await Promise.all(shares.map(runWorker));
  const total = parts.reduce((a, t) => ({ files: a.files + t.files, bytes: a.bytes + t.bytes }), { files: 0, bytes: 0 });
  process.stdout.write(`${JSON.stringify(total)}\n`);
}

if (isMainThread) {
  main().catch((err: unknown) => {
    process.stderr.write(`bare-nar-unpack: ${(err as Error).message}\n`);
    process.exit(1);
  });
} else {
  // A lane that fails rejects unhandled, which ends the worker with an 'error' its starter reports.
  void runLane(workerData as Lane).then((t) => parentPort?.postMessage(t));
}
