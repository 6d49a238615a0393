import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { SizeLimitError } from '../errors/index.js';

// One long-lived `xz -dc` for the small xz NARs of a process, rather than a fork of it per NAR (9–23 ms of
// the forking thread each, decompress.ts) or lzma-native: its bundled liblzma spent 2.3 s of CPU on the
// 301 small NARs of `npm run bench -- nix --paths 301`, the system's `xz` 0.54 s (docs/performance.md).
// The tool decodes concatenated streams into their concatenated output, so each stream written is
// followed by a small stream (the trailer, made once) of a random marker and then `fill` zero bytes: its
// output ends where the marker shows, and the zeros are skipped. The zeros are there because the tool
// writes its output only a full buffer at a time (8 KiB for xz 5.4) until its input ends: they push the
// marker out (and the trailer ends with input the tool skips, for it also reads a full buffer before it
// decodes: xz-lane.ts). Should a tool hold more, a stream whose marker has not shown 50 ms after its
// input was all written gets more zeros behind it (`filler`). A stream that does not end where it should
// (truncated, trailing bytes) can only make outputs be cut in the wrong place, and so fail NarHash
// checks, never pass one: every output is still hashed against its signed NarHash by the caller.

/** One stream to decode: its whole input, the most output it may give, and where its output goes. */
export interface LaneJob {
  input: Buffer;
  maxOutput: number;
  emit: (b: Buffer) => void;
}

interface Pending {
  job: LaneJob;
  total: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** What the tool's output holds next, in the order it was written: a job's output up to the marker, or zeros. */
type Segment = { kind: 'job'; p: Pending } | { kind: 'zeros'; left: number };

/** The lane's streams in the tool's format: the trailer (the marker, then `fill` zeros) and `fill` more zeros. */
export interface LaneFraming {
  marker: Buffer;
  fill: number;
  trailer: Buffer;
  filler: Buffer;
}

const STDERR_KEEP = 2048;

export interface ToolLaneOptions {
  /** How long a stream may go without output once all input is written, before the lane is killed. */
  idleMs?: number;
  /** How long the lane stays open with nothing to decode before it ends the tool's input (it exits). */
  closeAfterMs?: number;
}

/**
 * `file args` (a decompressor reading stdin, writing stdout) decoding jobs in turn, each followed by
 * `framing.trailer`. A job's promise resolves once its whole output was emitted; it rejects with
 * SizeLimitError past its maxOutput, with the tool's own message when the tool fails, or when no output
 * came for `idleMs`. Any failure stops the lane: the jobs after the failed one are rejected too (their
 * fetch is failing anyway), and `dead` says so; a new lane is needed.
 */
export class ToolLane {
  private readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  private readonly segments: Segment[] = [];
  private stall: NodeJS.Timeout | undefined;
  /** `fill` zero bytes, to compare the skipped output with. */
  private readonly zeros: Buffer;
  private tail: Buffer = Buffer.alloc(0);
  private stderr = '';
  private idle: NodeJS.Timeout | undefined;
  private closing: NodeJS.Timeout | undefined;
  dead: Error | undefined;

  constructor(
    private readonly file: string,
    private readonly args: readonly string[],
    private readonly framing: LaneFraming,
    private readonly options: ToolLaneOptions = {},
  ) {
    this.zeros = Buffer.alloc(framing.fill);
    this.child = spawn(file, [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (b: Buffer) => this.onOutput(b));
    this.child.stderr.on('data', (b: Buffer) => (this.stderr = (this.stderr + b.toString('utf8')).slice(-STDERR_KEEP)));
    // A write refused because the tool stopped says nothing of why: its exit does.
    this.child.stdin.on('error', () => undefined);
    this.child.on('error', (err) => this.stop(new Error(`${file} could not run: ${err.message}`)));
    this.child.on('close', (code, signal) => {
      this.stop(new Error(`${file} ${args.join(' ')} ${code === 0 ? 'ended' : `failed (${signal ?? `exit ${code}`})`}: ${this.stderr.trim() || 'no message'}`));
    });
    this.hold(false);
  }

  /** The tool's process id (tests see that an idle lane ends it). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Decodes `job` after the jobs before it. */
  decode(job: LaneJob): Promise<void> {
    if (this.dead !== undefined) return Promise.reject(this.dead);
    return new Promise<void>((resolve, reject) => {
      const p: Pending = { job, total: 0, resolve, reject };
      this.segments.push({ kind: 'job', p }, { kind: 'zeros', left: this.framing.fill });
      this.hold(true);
      this.child.stdin.write(job.input);
      this.child.stdin.write(this.framing.trailer, () => {
        this.armIdle();
        this.armStall();
      });
    });
  }

  /** Kills the tool; jobs still waiting are rejected with `why`. */
  stop(why: Error): void {
    if (this.dead === undefined) this.dead = why;
    clearTimeout(this.idle);
    clearTimeout(this.closing);
    clearTimeout(this.stall);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    for (const seg of this.segments.splice(0)) if (seg.kind === 'job') seg.p.reject(this.dead);
    this.hold(false);
  }

  /** Whether a job still waits for its output. */
  private get busy(): boolean {
    return this.segments.some((seg) => seg.kind === 'job');
  }

  /** While jobs wait the lane keeps the process alive; idle, it does not, and ends after `closeAfterMs`. */
  private hold(busy: boolean): void {
    // The pipes are sockets (ref/unref), which their stream types do not say.
    for (const h of [this.child, this.child.stdin, this.child.stdout, this.child.stderr] as unknown as Array<{ ref(): void; unref(): void }>) {
      if (busy) h.ref();
      else h.unref();
    }
    clearTimeout(this.closing);
    if (!busy && this.dead === undefined) {
      this.closing = setTimeout(() => {
        this.dead = new Error(`${this.file} lane closed after ${this.options.closeAfterMs ?? CLOSE_AFTER_MS} ms idle`);
        this.child.stdin.end();
      }, this.options.closeAfterMs ?? CLOSE_AFTER_MS);
      this.closing.unref();
    }
  }

  /** Restarts the no-output deadline of the job at the head, once all its input is written. */
  private armIdle(): void {
    clearTimeout(this.idle);
    if (!this.busy || this.dead !== undefined) return;
    const ms = this.options.idleMs ?? IDLE_MS;
    this.idle = setTimeout(() => this.stop(new Error(`${this.file} ${this.args.join(' ')} produced nothing for ${ms} ms`)), ms);
  }

  /**
   * Once a job's input is all written, more zeros behind the last stream if its marker has not shown
   * within STALL_MS (a tool holding more output than `fill`), again each STALL_MS until it shows.
   */
  private armStall(): void {
    clearTimeout(this.stall);
    if (!this.busy || this.dead !== undefined) return;
    this.stall = setTimeout(() => {
      if (!this.busy || this.dead !== undefined) return;
      this.segments.push({ kind: 'zeros', left: this.framing.fill });
      this.child.stdin.write(this.framing.filler, () => this.armStall());
    }, STALL_MS);
  }

  private onOutput(chunk: Buffer): void {
    if (this.busy) {
      this.armIdle();
      this.armStall();
    }
    const { marker } = this.framing;
    let buf = this.tail.length === 0 ? chunk : Buffer.concat([this.tail, chunk]);
    this.tail = Buffer.alloc(0);
    while (buf.length > 0 && this.dead === undefined) {
      const seg = this.segments[0];
      if (seg === undefined) return this.stop(new Error(`${this.file} wrote output no stream was waiting for`));
      if (seg.kind === 'zeros') {
        const take = Math.min(seg.left, buf.length);
        if (!buf.subarray(0, take).equals(this.zeros.subarray(0, take))) return this.stop(new Error(`${this.file}'s output is out of step with its input`));
        seg.left -= take;
        buf = buf.subarray(take);
        if (seg.left === 0) this.segments.shift();
        continue;
      }
      const at = buf.indexOf(marker);
      if (at < 0) {
        // The marker may begin in the last bytes: they wait for the next chunk.
        const keep = Math.min(buf.length, marker.length - 1);
        this.deliver(seg.p, buf.subarray(0, buf.length - keep));
        this.tail = Buffer.from(buf.subarray(buf.length - keep));
        return;
      }
      this.deliver(seg.p, buf.subarray(0, at));
      if (this.dead !== undefined) return;
      this.segments.shift();
      seg.p.resolve();
      buf = buf.subarray(at + marker.length);
      if (!this.busy) {
        clearTimeout(this.idle);
        clearTimeout(this.stall);
        this.hold(false);
      }
    }
  }

  private deliver(p: Pending, bytes: Buffer): void {
    if (bytes.length === 0) return;
    p.total += bytes.length;
    if (p.total > p.job.maxOutput) {
      const err = new SizeLimitError(`decompresses to more than ${p.job.maxOutput} bytes`, { maxBytes: p.job.maxOutput });
      this.segments.shift(); // `p`'s, at the head
      p.reject(err);
      return this.stop(new Error(`${this.file} lane stopped: a stream before this one decompressed past its limit`));
    }
    p.job.emit(bytes);
  }
}

/** No output for this long, once a stream's input is all written, stops the lane (as tool-reader.ts stops a tool). */
const IDLE_MS = 60_000;
/** An idle lane ends its tool after this long: no child outlives a fetch by much. */
const CLOSE_AFTER_MS = 1_000;
/** How long a job whose input is all written waits for its marker before more zeros are written behind it. */
const STALL_MS = 50;
