// Small xz NARs through one long-lived system `xz -dc` (src/nix/tool-lane.ts, xz-lane.ts): streams written
// one after another, each output cut at its random marker; every stream comes out whole and in its own
// output, however many run at once; a bomb, a corrupt or a truncated stream fails that stream and the next
// ones still decode (on a new lane); a tool that holds more output than the zeros behind a marker still
// finishes; an idle lane ends its tool.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { SizeLimitError } from '../../src/errors/index.js';
import { createDecompressor, IN_PROCESS_NAR_MAX, systemDecompressor } from '../../src/nix/index.js';
import { ToolLane } from '../../src/nix/tool-lane.js';
import { makeXzFraming, prepareXzLane } from '../../src/nix/xz-lane.js';

const xz = (b: Buffer, level = '-6'): Buffer => execFileSync('xz', ['-q', '-c', level], { input: b, maxBuffer: 1 << 28 });
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A small NAR-like payload, the same for the same `i`: text and incompressible bytes, some empty. */
function payload(i: number): Buffer {
  if (i % 11 === 0) return Buffer.alloc(0);
  const noise = Array.from({ length: (i * 7) % 40 }, (_, k) => createHash('sha512').update(`${i}/${k}`).digest());
  return Buffer.concat([Buffer.from(`path ${i} `.repeat(50 + ((i * 131) % 900))), ...noise]);
}

/** What the in-process xz decompressor (the lane, for a capped small stream) makes of `input`. */
async function decode(input: Buffer, max = IN_PROCESS_NAR_MAX): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from([input]), createDecompressor('xz', 'library', max), async (src: AsyncIterable<Buffer>) => {
    for await (const c of src) out.push(c);
  });
  return Buffer.concat(out);
}

describe('small xz streams through one xz process', () => {
  it('decodes 120 streams, 8 at a time, each whole and in its own output', async () => {
    expect(await prepareXzLane()).toBe(true);
    const inputs = Array.from({ length: 120 }, (_, i) => xz(payload(i)));
    let next = 0;
    const got: string[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = next++; i < inputs.length; i = next++) got[i] = sha(await decode(inputs[i] as Buffer));
      }),
    );
    expect(got).toEqual(inputs.map((_, i) => sha(payload(i))));
  });

  it('stops a stream that decompresses past its cap with SizeLimitError; the next stream decodes', async () => {
    const bomb = xz(Buffer.alloc(64 << 20), '-9');
    expect(bomb.length).toBeLessThan(64 * 1024);
    await expect(decode(bomb, 1 << 20)).rejects.toBeInstanceOf(SizeLimitError);
    expect(sha(await decode(xz(payload(5))))).toBe(sha(payload(5)));
  });

  it("fails a corrupt stream with xz's own message; the next stream decodes", async () => {
    const bad = xz(payload(7));
    bad.fill(0x55, 30, 200);
    await expect(decode(bad)).rejects.toThrow(/xz .*(failed|out of step)|Compressed data is corrupt|format/i);
    expect(sha(await decode(xz(payload(8))))).toBe(sha(payload(8)));
  });

  it('fails a truncated stream rather than waiting for ever; the next stream decodes', async () => {
    const whole = xz(payload(9));
    await expect(decode(whole.subarray(0, whole.length - 30))).rejects.toThrow();
    expect(sha(await decode(xz(payload(10))))).toBe(sha(payload(10)));
  }, 20_000);
});

describe('a tool lane', () => {
  const tool = (): { file: string; args: readonly string[] } => systemDecompressor('xz') ?? { file: 'xz', args: ['-dcq'] };

  it('finishes a stream whose marker the tool holds back, by writing more zeros behind it', async () => {
    // 2 KiB of zeros behind each marker, where xz holds back up to 8 KiB: the marker shows only once
    // more zeros follow (written after 50 ms without it).
    const lane = new ToolLane(tool().file, tool().args, await makeXzFraming(2048));
    try {
      const out: Buffer[] = [];
      await lane.decode({ input: xz(payload(12)), maxOutput: 1 << 20, emit: (b) => out.push(b) });
      expect(sha(Buffer.concat(out))).toBe(sha(payload(12)));
    } finally {
      lane.stop(new Error('test over'));
    }
  });

  it("stops when the output after a marker is not the trailer's zeros: its output is out of step", async () => {
    // A trailer whose fill is not zeros, as a stream that swallowed the real one would make it.
    const good = await makeXzFraming(1024);
    const marker = good.marker;
    const bad = { ...good, trailer: Buffer.concat([xz(Buffer.concat([marker, Buffer.alloc(1024, 7)]), '-0'), Buffer.alloc(16 * 1024)]) };
    const lane = new ToolLane(tool().file, tool().args, bad);
    await expect(lane.decode({ input: xz(payload(14)), maxOutput: 1 << 20, emit: () => undefined })).resolves.toBeUndefined();
    await expect(lane.decode({ input: xz(payload(15)), maxOutput: 1 << 20, emit: () => undefined })).rejects.toThrow(/output is out of step with its input/);
  });

  it('stops when the tool writes output no stream asked for', async () => {
    const lane = new ToolLane('/bin/sh', ['-c', 'echo unasked; exec cat'], await makeXzFraming(1024));
    await new Promise((r) => setTimeout(r, 500));
    expect(lane.dead?.message).toMatch(/wrote output no stream was waiting for/);
  });

  it('stops a stream that gets no output for its idle deadline, and kills the tool', async () => {
    // `sleep` reads nothing and writes nothing: the stream's input sits in the pipe.
    const lane = new ToolLane('/bin/sleep', ['30'], await makeXzFraming(1024), { idleMs: 300 });
    const pid = lane.pid as number;
    await expect(lane.decode({ input: Buffer.from('x'), maxOutput: 1 << 20, emit: () => undefined })).rejects.toThrow(/sleep 30 produced nothing for 300 ms/);
    await new Promise((r) => setTimeout(r, 200));
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  });

  it('ends its tool once idle', async () => {
    const lane = new ToolLane(tool().file, tool().args, await makeXzFraming(16 * 1024), { closeAfterMs: 100 });
    const out: Buffer[] = [];
    await lane.decode({ input: xz(payload(13)), maxOutput: 1 << 20, emit: (b) => out.push(b) });
    expect(sha(Buffer.concat(out))).toBe(sha(payload(13)));
    const pid = lane.pid as number;
    await new Promise((r) => setTimeout(r, 600));
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    expect(lane.dead?.message).toMatch(/lane closed after 100 ms idle/);
  });
});
