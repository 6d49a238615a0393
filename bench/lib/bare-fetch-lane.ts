// The floor's lane (bare-fetch.ts runs one or several): GETs over raw connections, each read into one
// reused buffer; a pack split by its index; every object hashed with sha256 and written as a new file,
// synchronously, from that buffer: numbered in one directory, or with `homes` at its paths in the
// closure's tree (and hard-linked at its other paths). With `writebackBytes`, a background `sync -f` of the
// lane's files every that many bytes written, one at a time, in one shell kept for them, as the fetch's
// early writeback does (src/util/early-writeback.ts): the disk then writes while the lane downloads,
// rather than all in the `sync` timed after the process. Only node built-ins: the floor's start stays
// bare Node's.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, linkSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { connect } from 'node:net';

/** One GET: an object's key, and whether it is a pack to split by its index. */
export interface BareGet {
  key: string;
  pack: boolean;
}
/** An object's paths in the tree (relative to the lane's `out`) and its mode: written at the first, linked at the rest. */
export interface BareHome {
  paths: string[];
  mode: number;
}
/** A closure's tree, paths relative to OUT: directories parents first, symlinks, inline files, objects' homes. */
export interface BareTree {
  dirs: string[];
  symlinks: Array<[path: string, target: string]>;
  inline: Array<[path: string, base64: string, mode: number]>;
  homes: Record<string, BareHome>;
}
/**
 * A lane: its GETs against `base`, its files under `out`. With `homes` (by object hex digest) each object
 * goes to its paths in a tree whose directories someone else makes: on this thread `onFirstBody` (called
 * once the lane's first response bytes are in, so its requests are already out), on a worker thread the
 * main thread, which sets `ready[0]` to 1 when done; the lane waits on it before its first file.
 */
export interface BareLane {
  base: string;
  gets: BareGet[];
  out: string;
  homes?: Record<string, BareHome>;
  ready?: Int32Array;
  /** Early writeback: a `sync -f OUT` started every this many bytes written (none while one runs). */
  writebackBytes?: number;
}
/** What only a lane on the calling thread can take: a function. */
export interface BareLaneHooks {
  onFirstBody?: () => void;
}
/** What a lane wrote. */
export interface BareTally {
  files: number;
  bytes: number;
}

/** Connections per lane: as many packs as the fetch streams at once. */
const CONNECTIONS = 4;
const READ_BUFFER = 1 << 20;
/** A stalled server fails the floor rather than hanging the benchmark. */
const IDLE_MS = 30_000;
const PACK_FIXED = 16;
const PACK_ENTRY = 40;

/**
 * The body length of a response head (status line and headers, without the blank line) when it is a
 * `HTTP/1.1 200` with a Content-Length; undefined for anything else. The floor's whole HTTP parsing.
 */
export function okBodyLength(head: string): number | undefined {
  const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
  return head.startsWith('HTTP/1.1 200') && length !== undefined ? Number(length) : undefined;
}

/** Where the lane puts an object: a new file, opened for writing, and once written its other names. */
interface Placer {
  open(hex: string): number;
  written(hex: string): void;
}

function placer(lane: BareLane, tally: BareTally): Placer {
  const { out, homes, ready } = lane;
  if (homes === undefined) return { open: () => openSync(`${out}/${tally.files++}`, 'wx', 0o444), written: () => undefined };
  let waited = ready === undefined;
  const home = (hex: string): BareHome => {
    const h = homes[hex];
    if (h === undefined || h.paths.length === 0) throw new Error(`object ${hex} has no path in the plan`);
    return h;
  };
  return {
    open(hex) {
      if (!waited && ready !== undefined) {
        while (Atomics.load(ready, 0) === 0) Atomics.wait(ready, 0, 0);
        waited = true;
      }
      const h = home(hex);
      tally.files += h.paths.length;
      return openSync(`${out}/${h.paths[0] as string}`, 'wx', h.mode);
    },
    written(hex) {
      const [first, ...rest] = home(hex).paths;
      for (const p of rest) linkSync(`${out}/${first as string}`, `${out}/${p}`);
    },
  };
}

/** Counts bytes written and starts the lane's background flushes; `settled` waits for the last one. */
interface Writeback {
  wrote(bytes: number): void;
  settled(): Promise<void>;
}

function writeback(dir: string, every: number | undefined): Writeback {
  let unflushed = 0;
  let running: Promise<void> | undefined;
  // One shell runs the flushes, a line on its input each, as the fetch's does (src/util/flush-shell.ts):
  // no fork of this process per flush. Started at the first.
  let shell: ChildProcess | undefined;
  const done: Array<() => void> = [];
  const start = (): ChildProcess => {
    const child = spawn('sh', ['-c', 'while read -r _; do sync -f "$1"; echo; done', 'bare-flush', dir], { stdio: ['pipe', 'pipe', 'ignore'] });
    child.stdout?.on('data', (b: Buffer) => {
      for (let i = 0; i < b.length; i++) if (b[i] === 10) done.shift()?.();
    });
    child.once('close', () => {
      for (const d of done.splice(0)) d();
    });
    return child;
  };
  return {
    wrote(bytes) {
      unflushed += bytes;
      if (every === undefined || running !== undefined || unflushed < every) return;
      unflushed = 0;
      shell ??= start();
      const child = shell;
      running = new Promise<void>((resolve) => {
        done.push(resolve);
        child.stdin?.write('\n');
      }).then(() => {
        running = undefined;
      });
    },
    settled: async () => {
      await running;
      shell?.stdin?.end();
    },
  };
}

/** GETs `key` and writes its object(s) through `place`. */
function fetchOne(base: URL, get: BareGet, place: Placer, tally: BareTally, onBody: () => void, flush: Writeback): Promise<void> {
  return new Promise((resolve, reject) => {
    let head: Buffer | undefined = Buffer.alloc(0);
    let bodyLeft = 0;
    // A pack's index, then its entries' sizes; an object is one entry of the body's size.
    let index: Buffer = Buffer.alloc(0);
    let sizes: number[] | undefined;
    let hexes: string[] = [];
    let entry = -1;
    let left = 0;
    let fd = -1;
    let pos = 0;
    let hash = createHash('sha256');
    const next = (): void => {
      entry++;
      if (sizes === undefined || entry >= sizes.length) return;
      left = sizes[entry] ?? 0;
      fd = place.open(hexes[entry] ?? '');
      pos = 0;
      hash = createHash('sha256');
      if (left === 0) done();
    };
    const done = (): void => {
      hash.digest();
      closeSync(fd);
      fd = -1;
      place.written(hexes[entry] ?? '');
      next();
    };
    const body = (view: Buffer): void => {
      let off = 0;
      while (off < view.length) {
        if (sizes === undefined) {
          const need = index.length < PACK_FIXED ? PACK_FIXED : PACK_FIXED + PACK_ENTRY * index.readUInt32BE(12);
          const take = Math.min(need - index.length, view.length - off);
          index = Buffer.concat([index, view.subarray(off, off + take)]);
          off += take;
          if (index.length < PACK_FIXED || index.length < PACK_FIXED + PACK_ENTRY * index.readUInt32BE(12)) continue;
          const n = index.readUInt32BE(12);
          sizes = Array.from({ length: n }, (_, i) => Number(index.readBigUInt64BE(PACK_FIXED + PACK_ENTRY * i + 32)));
          hexes = Array.from({ length: n }, (_, i) => index.toString('hex', PACK_FIXED + PACK_ENTRY * i, PACK_FIXED + PACK_ENTRY * i + 32));
          next();
          continue;
        }
        const take = Math.min(left, view.length - off);
        const piece = view.subarray(off, off + take);
        hash.update(piece);
        for (let w = 0; w < take; ) w += writeSync(fd, piece, w, take - w, pos + w);
        pos += take;
        left -= take;
        off += take;
        tally.bytes += take;
        flush.wrote(take);
        if (left === 0) done();
      }
    };
    const fail = (why: string): void => {
      socket.destroy();
      reject(new Error(`GET ${get.key}: ${why}`));
    };
    const socket = connect({
      host: base.hostname,
      port: Number(base.port || 80),
      onread: {
        buffer: Buffer.allocUnsafe(READ_BUFFER),
        callback: (n: number, buf: Uint8Array): boolean => {
          try {
            let view = Buffer.from(buf.buffer, buf.byteOffset, n);
            if (head !== undefined) {
              head = Buffer.concat([head, view]);
              const end = head.indexOf('\r\n\r\n');
              if (end < 0) return true;
              const text = head.subarray(0, end).toString('latin1');
              const length = okBodyLength(text);
              if (length === undefined) {
                fail(text.split('\r\n')[0] ?? 'no status');
                return false;
              }
              bodyLeft = length;
              view = head.subarray(end + 4);
              head = undefined;
              onBody();
              if (!get.pack) {
                sizes = [bodyLeft];
                hexes = [get.key.slice(get.key.lastIndexOf('/') + 1)];
                next();
              }
            }
            bodyLeft -= view.length;
            body(view);
            if (bodyLeft === 0) {
              socket.destroy();
              resolve();
            }
          } catch (err) {
            fail((err as Error).message);
            return false;
          }
          return true;
        },
      },
    });
    socket.setTimeout(IDLE_MS, () => fail(`no data for ${IDLE_MS} ms`));
    socket.once('connect', () => socket.write(`GET ${new URL(get.key, base).pathname} HTTP/1.1\r\nHost: ${base.host}\r\nConnection: close\r\n\r\n`));
    socket.once('error', (err) => fail(err.message));
    socket.once('end', () => {
      if (bodyLeft > 0 || head !== undefined) fail('the connection closed early');
    });
  });
}

/** Runs one lane on this thread: its GETs over CONNECTIONS connections, each object written as `placer` says. */
export async function runBareLane(lane: BareLane, hooks: BareLaneHooks = {}): Promise<BareTally> {
  mkdirSync(lane.out, { recursive: true });
  const tally: BareTally = { files: 0, bytes: 0 };
  const place = placer(lane, tally);
  const base = new URL(lane.base);
  let first = hooks.onFirstBody;
  const onBody = (): void => {
    const f = first;
    first = undefined;
    f?.();
  };
  const flush = writeback(lane.out, lane.writebackBytes);
  let next = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      for (let get = lane.gets[next++]; get !== undefined; get = lane.gets[next++]) await fetchOne(base, get, place, tally, onBody, flush);
    }),
  );
  await flush.settled();
  return tally;
}

