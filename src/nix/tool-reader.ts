import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { ConsumeView } from '../store/store.js';
import { userBufferSocketPair, type UserBufferReceiver } from '../util/user-buffer-socket.js';
import { STDERR_KEEP } from './decompress-tool.js';

// A decompressor's output read into two buffers this process reuses, handed on as views the consumer
// releases (the contract of store.readInto), rather than as a stream of fresh buffers: the fresh memory's
// page faults cost more than the hashing (util/user-buffer-socket.ts says where). The output comes through
// a socket this process reads into those buffers itself; where none can be made, through the usual pipe,
// its chunks copied into them.

/** Bytes handed to the consumer at once: each view costs the NAR parser a round of promises. */
const VIEW_BYTES = 1 << 20;
/**
 * Once all input is given and the consumer waits, how long the tool may go without output or exit before
 * it is killed: the download has its own deadlines, this one covers the tool itself hanging.
 */
const TOOL_IDLE_MS = 60_000;

export interface ToolReaderOptions {
  /** An open file the tool reads itself as its stdin, or 'pipe' to write its input to `stdin`. */
  stdin: number | 'pipe';
  /** The most bytes of output accepted: more fails the read with `tooBig()` and kills the tool. */
  cap: number;
  tooBig: () => Error;
  idleMs?: number;
  signal?: AbortSignal;
  /** False: read the tool's stdout pipe, as where no socket can be made (default true: a socket where one can be). */
  socket?: boolean;
}

/** A decompressor running, its output to be drained. */
export interface ToolReader {
  /** The tool's stdin with `stdin: 'pipe'`; null when it reads a file. */
  readonly stdin: Writable | null;
  /** No more input (closes `stdin`): from now on the tool may not stay silent past the idle deadline. */
  endInput(): void;
  /**
   * Hands every byte of the tool's output to `consume`, in order, as views valid until `consume` settles
   * (at once when it returns undefined). Resolves to the bytes read once the tool exited 0 and the last
   * view was released. Rejects, the tool killed, with what `consume` throws or rejects with, `tooBig()`,
   * the signal's reason, or an Error quoting the tool's stderr when it exits otherwise than 0, cannot
   * run, or stays silent past the deadline. Called once.
   */
  drain(consume: ConsumeView): Promise<number>;
  /** Stops the tool (a failure elsewhere); `drain` then rejects. */
  kill(): void;
}

/** Starts `file args` (a decompressor writing its output to stdout, never a file). */
export async function spawnToolReader(file: string, args: readonly string[], options: ToolReaderOptions): Promise<ToolReader> {
  const what = `${file} ${args.join(' ')}`;
  const idleMs = options.idleMs ?? TOOL_IDLE_MS;
  const bufs = [Buffer.allocUnsafeSlow(VIEW_BYTES), Buffer.allocUnsafeSlow(VIEW_BYTES)];
  let cur = 0;
  let fill = 0;
  let total = 0;
  let consumer: ConsumeView | undefined;
  /** A view is with the consumer: the other buffer is the one to fill. */
  let busy = false;
  /** The output stopped being read: the buffer filling is full and the consumer still holds the other. */
  let paused = false;
  let ended = false;
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let failure: { err: unknown } | undefined;
  let done = false;
  let settle: { resolve: (n: number) => void; reject: (err: unknown) => void } | undefined;
  let idle: NodeJS.Timeout | undefined;
  let stderr = '';
  let resumeOutput = (): void => undefined;
  let stopOutput = (): void => undefined;

  /**
   * Whether the idle deadline applies: the input ended. It counts only time spent waiting on the tool: it
   * is off while reading is paused, and runs again while the consumer holds a view.
   */
  let watching = false;
  const onIdle = (): void => {
    if (busy) return void idle?.refresh();
    fail(new Error(`${what} produced nothing for ${idleMs} ms after its input ended`));
  };
  const touch = (): void => {
    if (!watching || paused) return;
    if (idle === undefined) idle = setTimeout(onIdle, idleMs);
    else idle.refresh();
  };
  const pause = (): false => {
    paused = true;
    clearTimeout(idle);
    idle = undefined;
    return false;
  };
  const fail = (err: unknown): void => {
    if (failure !== undefined || done) return;
    failure = { err };
    clearTimeout(idle);
    options.signal?.removeEventListener('abort', onAbort);
    if (exit === undefined) child.kill('SIGKILL');
    stopOutput();
    settle?.reject(err);
  };
  const onAbort = (): void => fail(options.signal?.reason);

  /** The buffer filling goes to the consumer; the other one fills next. */
  const hand = (): void => {
    const view = (bufs[cur] as Buffer).subarray(0, fill);
    cur ^= 1;
    fill = 0;
    let held: Promise<void> | undefined;
    try {
      held = (consumer as ConsumeView)(view);
    } catch (err) {
      return fail(err);
    }
    if (held === undefined) return;
    busy = true;
    held.then(() => {
      busy = false;
      step();
    }, fail);
  };
  const step = (): void => {
    if (failure !== undefined || done || consumer === undefined) return;
    if (fill === VIEW_BYTES) {
      if (busy) return;
      hand();
    }
    if (paused && fill < VIEW_BYTES && failure === undefined) {
      paused = false;
      touch();
      resumeOutput();
    }
    if (!ended || exit === undefined) return;
    if (exit.code !== 0) return fail(new Error(`${what} failed (${exit.signal ?? `exit ${exit.code}`}): ${stderr.trim() || 'no message'}`));
    if (fill > 0 && !busy) hand();
    if (busy || failure !== undefined) return;
    done = true;
    clearTimeout(idle);
    options.signal?.removeEventListener('abort', onAbort);
    settle?.resolve(total);
  };
  const receiver: UserBufferReceiver = {
    // Asked for after each read, for the next one (net's onread): with the buffer filling full, reading has
    // paused until the consumer releases the other one, which is then the one that fills (hand), from 0.
    space: () => (fill < VIEW_BYTES ? (bufs[cur] as Buffer).subarray(fill) : (bufs[cur ^ 1] as Buffer)),
    got(n: number): boolean {
      if (failure !== undefined) return false;
      touch();
      fill += n;
      total += n;
      if (total > options.cap) {
        fail(options.tooBig());
        return false;
      }
      if (fill < VIEW_BYTES) return true;
      if (consumer === undefined || busy) return pause();
      hand();
      return failure === undefined;
    },
  };

  const pair = options.socket === false ? undefined : await userBufferSocketPair(receiver);
  let child: ChildProcess;
  try {
    child = spawn(file, [...args], { stdio: [options.stdin, pair?.theirs ?? 'pipe', 'pipe'] });
  } catch (err) {
    pair?.ours.destroy();
    throw err;
  } finally {
    // The child holds its own copy: ours closed, the output ends when the tool's does.
    pair?.theirs.destroy();
  }
  const output: Readable | null = pair?.ours ?? child.stdout;
  if (output === null) throw new Error(`${file}: no output`);
  if (pair !== undefined) {
    resumeOutput = () => void pair.ours.resume();
    stopOutput = () => void pair.ours.destroy();
  } else {
    // The pipe's chunks are copied into the buffers; one cut short by a pause is finished on resume.
    let rest: { chunk: Buffer; from: number } | undefined;
    const take = (chunk: Buffer, from: number): void => {
      for (let off = from; off < chunk.length; ) {
        const n = chunk.copy(receiver.space(), 0, off);
        off += n;
        if (receiver.got(n)) continue;
        if (failure === undefined && off < chunk.length) rest = { chunk, from: off };
        output.pause();
        return;
      }
    };
    output.on('data', (chunk: Buffer) => take(chunk, 0));
    resumeOutput = () => {
      const r = rest;
      rest = undefined;
      if (r !== undefined) take(r.chunk, r.from);
      if (!paused && failure === undefined) output.resume();
    };
    stopOutput = () => void output.destroy();
  }
  output.on('end', () => {
    ended = true;
    step();
  });
  output.on('error', fail);
  child.stdin?.on('error', () => undefined); // a tool that stops reading: its exit status says why
  child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString('utf8')).slice(-STDERR_KEEP)));
  child.on('error', (err) => fail(new Error(`${file} could not run: ${err.message}`)));
  child.on('close', (code, signal) => {
    exit = { code, signal };
    step();
  });
  if (options.signal?.aborted === true) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.stdin !== 'pipe') {
    watching = true;
    touch();
  }

  return {
    stdin: child.stdin,
    endInput(): void {
      child.stdin?.end();
      watching = true;
      touch();
    },
    drain(consume: ConsumeView): Promise<number> {
      if (consumer !== undefined) return Promise.reject(new Error(`${what}: its output is drained once`));
      consumer = consume;
      const drained = new Promise<number>((resolve, reject) => (settle = { resolve, reject }));
      if (failure !== undefined) settle?.reject(failure.err);
      step();
      return drained;
    },
    kill(): void {
      fail(new Error(`${what} was stopped`));
    },
  };
}
