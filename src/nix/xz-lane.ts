import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { Transform, type TransformCallback } from 'node:stream';
import { SizeLimitError } from '../errors/index.js';
import { systemDecompressor } from './decompress-tool.js';
import { ToolLane, type LaneFraming } from './tool-lane.js';

// Small xz NARs through one long-lived system `xz -dc` per process (tool-lane.ts), each gathered whole
// (decompress.ts bounds them at 256 KiB) and decoded after the ones before it. Used once prepared
// (prepareXzLane), which a fetch of several small xz NARs does before they start: its framing (~20 ms
// of lzma-native's, once) and the tool's start cost more than lzma-native's decoding of one or two.

const require = createRequire(import.meta.url);

interface LzmaNative {
  compress(b: Buffer, options: { preset: number; check: number }): Promise<Buffer>;
  CHECK_NONE: number;
}

/** Zeros behind each marker: twice the output xz 5.4 holds back, ~40 bytes of xz each. */
const FILL = 16 * 1024;
/**
 * Stream Padding (zero bytes, which xz's format allows between streams) after each trailer and filler:
 * xz reads its input 8 KiB at a time and decodes nothing of a read until it is full, so without it the
 * last stream written waited for the next, or for the end of the input.
 */
const PAD = 16 * 1024;

let framing: Promise<LaneFraming> | undefined;
let lane: ToolLane | undefined;
let prepared = false;

/** A lane's framing in xz's format, made with lzma-native: a fresh random marker, `fill` zeros, PAD bytes of padding. */
export async function makeXzFraming(fill: number): Promise<LaneFraming> {
  const lzma = require('lzma-native') as LzmaNative;
  const marker = randomBytes(32);
  const compress = (b: Buffer): Promise<Buffer> => lzma.compress(b, { preset: 0, check: lzma.CHECK_NONE });
  const [trailer, filler] = await Promise.all([compress(Buffer.concat([marker, Buffer.alloc(fill)])), compress(Buffer.alloc(fill))]);
  const pad = Buffer.alloc(PAD);
  return { marker, fill, trailer: Buffer.concat([trailer, pad]), filler: Buffer.concat([filler, pad]) };
}

/** The process's framing, made once. */
function xzFraming(): Promise<LaneFraming> {
  framing ??= makeXzFraming(FILL);
  return framing;
}

/**
 * Makes the lane ready, so that the small xz streams from now on go through it (xzLaneReady); false, and
 * nothing prepared, without the system `xz`.
 */
export async function prepareXzLane(): Promise<boolean> {
  const tool = systemDecompressor('xz');
  if (tool === null) return false;
  await xzLane(tool);
  prepared = true;
  return true;
}

/** Whether prepareXzLane made the lane ready in this process. */
export function xzLaneReady(): boolean {
  return prepared;
}

/** The process's xz lane, started again once the last one stopped (a failure, or idle). */
async function xzLane(tool: { file: string; args: readonly string[] }): Promise<ToolLane> {
  const f = await xzFraming();
  if (lane === undefined || lane.dead !== undefined) lane = new ToolLane(tool.file, tool.args, f);
  return lane;
}

/**
 * An xz decompressor for a stream of at most `wholeUpTo` bytes: gathered, then decoded by the process's
 * xz lane, its output stopped past `maxOutput` (SizeLimitError). More input than `wholeUpTo` is refused
 * with SizeLimitError: the caller's FileSize bound should have stopped it before.
 */
export function xzLaneStream(tool: { file: string; args: readonly string[] }, maxOutput: number, wholeUpTo: number): Transform {
  // Chunks written to a stream are its own (the writer does not reuse them), so they are kept, not copied.
  const held: Buffer[] = [];
  let heldBytes = 0;
  const out: Transform = new Transform({
    transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback): void {
      heldBytes += chunk.length;
      if (heldBytes > wholeUpTo) return done(new SizeLimitError(`more than ${wholeUpTo} bytes of xz for a small NAR`, { maxBytes: wholeUpTo }));
      held.push(chunk);
      done();
    },
    flush(done: TransformCallback): void {
      const input = held.length === 1 ? (held[0] as Buffer) : Buffer.concat(held, heldBytes);
      xzLane(tool)
        .then((l) => l.decode({ input, maxOutput, emit: (b) => out.push(b) }))
        .then(
          () => done(),
          (err: unknown) => done(err as Error),
        );
    },
  });
  return out;
}
