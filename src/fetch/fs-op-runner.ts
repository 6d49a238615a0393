import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { runFsOps, type FsOp, type FsOpResult } from './fs-ops.js';
import { runSpreadAsync } from './fs-ops-async.js';
import { directWritesWanted } from '../util/direct-writes.js';
import { appliedV8Flags, reapplyV8Flags } from '../util/v8-flags.js';

/** Runs batches of local filesystem steps (see fs-ops.ts). */
export interface FsOpRunner {
  /** Runs `ops` in order on one thread; stops at the first failure (the last result) unless `keepGoing`. */
  run(ops: readonly FsOp[], keepGoing?: boolean): Promise<FsOpResult[]>;
  /** Runs independent `ops` split across the threads, every one of them (a failure stops nothing). */
  runSpread(ops: readonly FsOp[]): Promise<FsOpResult[]>;
  /** True when the steps run on worker threads (a step's data may then live in shared memory, unmoved). */
  readonly threaded: boolean;
  /**
   * True when the threads write data of DIRECT_FROM bytes or more with O_DIRECT (util/direct-writes.ts):
   * callers then place such data on block boundaries of page-aligned shared memory (pack-splitter.ts).
   */
  readonly direct: boolean;
  /** Stops the threads (without waiting for them to end). */
  close(): Promise<void>;
}

/** A runner whose threads start on `start()` or at its first step, whichever comes first (startLater). */
export interface LaterRunner extends FsOpRunner {
  start(): void;
}

/**
 * `make`'s runner, made only when started or first used: a fetch that makes its threads early still lets
 * its first request go out before their start. Once closed, it refuses steps at once and starts nothing.
 */
export function startLater(make: () => FsOpRunner, threaded: boolean, direct = false): LaterRunner {
  let runner: FsOpRunner | undefined;
  let closed = false;
  const get = (): FsOpRunner => {
    if (closed) throw new Error('filesystem runner closed');
    return (runner ??= make());
  };
  return {
    start: () => void (closed ? undefined : get()),
    run: (ops, keepGoing) => new Promise((resolve) => resolve(get().run(ops, keepGoing))),
    runSpread: (ops) => new Promise((resolve) => resolve(get().runSpread(ops))),
    threaded,
    direct,
    close: async () => {
      closed = true;
      await runner?.close();
    },
  };
}

const READ_BUFFER = 1 << 20;

/** Throws the first failure among `results` as an errno error (code and message of the failed step). */
export function throwIfFailed(results: readonly FsOpResult[]): void {
  for (const r of results) if (!r.ok) throw Object.assign(new Error(r.message), { code: r.code });
}

/**
 * Runs the steps synchronously on the calling thread: cheapest for a few hundred steps or a few MB. Spread
 * steps (independent renames and links) go through libuv's pool instead (fs-ops-async.ts).
 */
export function inlineFsOpRunner(spreadInline = false): FsOpRunner {
  let buf: Buffer | undefined;
  const run = (ops: readonly FsOp[], keepGoing = false): Promise<FsOpResult[]> => {
    buf ??= Buffer.allocUnsafe(READ_BUFFER);
    return Promise.resolve(runFsOps(fs, crypto, ops, buf, keepGoing));
  };
  return { run, runSpread: (ops) => (spreadInline ? run(ops, true) : runSpreadAsync(ops)), threaded: false, direct: false, close: () => Promise.resolve() };
}

// The worker runs runFsOps from its source text: it refers only to its parameters, so no module loading
// (and no TypeScript loader under the test runner) is involved.
// Its direct writes' memory, when it makes them, is a WebAssembly.Memory: the one way to get page-aligned
// bytes in Node (as in src/nix/direct-writer.ts).
// Its first line sets again the V8 flags the process set at run time, which making its isolate undid
// (util/v8-flags.ts): from the worker itself, the moment its JavaScript starts, rather than once the main
// thread hears it is online.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
for (const f of workerData.v8Flags) require('node:v8').setFlagsFromString(f);
const fs = require('node:fs');
const crypto = require('node:crypto');
const runFsOps = ${runFsOps.toString()};
const buf = Buffer.allocUnsafe(${READ_BUFFER});
const aligned = workerData.direct ? Buffer.from(new WebAssembly.Memory({ initial: 16 }).buffer) : undefined;
parentPort.on('message', (m) => parentPort.postMessage({ id: m.id, results: runFsOps(fs, crypto, m.ops, buf, m.keepGoing, aligned) }));
`;

interface Lane {
  worker: Worker;
  pending: Map<number, { resolve: (r: FsOpResult[]) => void; reject: (e: Error) => void }>;
  failed?: Error;
}

/**
 * Runs the steps on `threads` worker threads (default: one per core, at most 4), so hashing and the
 * kernel's copying use every core while the main thread stays free for the network, progress and
 * deadlines. Threads start at once and are idle-unref'd; `close` terminates them. With `direct`, they write
 * large data with O_DIRECT.
 */
export function threadFsOpRunner(threads = Math.min(4, availableParallelism()), direct = directWritesWanted()): FsOpRunner {
  let nextId = 0;
  const lanes: Lane[] = Array.from({ length: Math.max(1, threads) }, () => {
    const lane: Lane = { worker: new Worker(WORKER_SOURCE, { eval: true, workerData: { v8Flags: appliedV8Flags(), direct } }), pending: new Map() };
    lane.worker.unref();
    // A worker's start resets the V8 flags set at run time (the young generation's cap among them); the
    // worker sets them again as it starts, and this covers a worker whose start outran that.
    lane.worker.once('online', reapplyV8Flags);
    const failAll = (err: Error): void => {
      lane.failed ??= err;
      for (const p of lane.pending.values()) p.reject(err);
      lane.pending.clear();
    };
    lane.worker.on('message', (m: { id: number; results: FsOpResult[] }) => {
      const p = lane.pending.get(m.id);
      lane.pending.delete(m.id);
      if (lane.pending.size === 0) lane.worker.unref();
      p?.resolve(m.results);
    });
    lane.worker.on('error', failAll);
    lane.worker.on('exit', (code) => failAll(new Error(`filesystem worker thread exited (code ${code})`)));
    return lane;
  });
  const send = (lane: Lane, ops: readonly FsOp[], keepGoing = false): Promise<FsOpResult[]> => {
    if (lane.failed) return Promise.reject(lane.failed);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      lane.pending.set(id, { resolve, reject });
      lane.worker.ref();
      lane.worker.postMessage({ id, ops, keepGoing });
    });
  };
  const leastBusy = (): Lane => lanes.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
  return {
    run: (ops, keepGoing) => send(leastBusy(), ops, keepGoing),
    async runSpread(ops) {
      const per = Math.ceil(ops.length / lanes.length);
      const parts = await Promise.all(lanes.map((l, i) => (i * per < ops.length ? send(l, ops.slice(i * per, (i + 1) * per), true) : Promise.resolve([]))));
      return parts.flat();
    },
    threaded: true,
    direct,
    // Not waited for: a thread's end takes ~4 ms at the end of every fetch, and an unref'd idle thread
    // keeps nothing alive. Every step was answered by then (callers close after their last run).
    close() {
      for (const l of lanes) {
        l.failed ??= new Error('filesystem worker thread exited (closed)');
        l.worker.terminate().catch(() => undefined);
      }
      return Promise.resolve();
    },
  };
}
