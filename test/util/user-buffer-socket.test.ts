// The socket pair a tool's output is read through (src/util/user-buffer-socket.ts): what `theirs` is
// written arrives in the receiver's memory, and a stranger connecting to the listening name first (anyone
// on the machine can) is never taken for our end.
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { userBufferSocketPair, type UserBufferReceiver } from '../../src/util/user-buffer-socket.js';

/** A receiver into one buffer, collecting what arrives. */
function collector(): UserBufferReceiver & { text: () => string; arrived: Promise<void> } {
  const buf = Buffer.alloc(64);
  let got = '';
  let arrivedNow = (): void => undefined;
  const arrived = new Promise<void>((resolve) => (arrivedNow = resolve));
  return {
    space: () => buf,
    got(n: number): boolean {
      got += buf.subarray(0, n).toString();
      arrivedNow();
      return true;
    },
    text: () => got,
    arrived,
  };
}

describe('user-buffer socket pair', () => {
  it('carries what `theirs` is written into the receiver\'s own memory', async () => {
    const rx = collector();
    const pair = await userBufferSocketPair(rx);
    if (pair === undefined) throw new Error('no pair on Linux');
    try {
      pair.theirs.write('hello');
      await rx.arrived;
      expect(rx.text()).toBe('hello');
    } finally {
      pair.ours.destroy();
      pair.theirs.destroy();
    }
  });

  it.each([
    ['sends nothing', ''],
    ['sends a wrong token', 'x'.repeat(16)],
    ['sends more than a token', 'y'.repeat(40)],
  ])('a stranger that connects first and %s is not taken for our end', async (_what, sends) => {
    const rx = collector();
    const strangers: Socket[] = [];
    const strangerGot: string[] = [];
    const pair = await userBufferSocketPair(rx, async (name) => {
      const s = connect({ path: name });
      strangers.push(s);
      s.on('data', (b: Buffer) => strangerGot.push(b.toString()));
      s.on('error', () => undefined);
      await new Promise<void>((resolve) => s.once('connect', () => resolve()));
      if (sends !== '') s.write(sends);
    });
    if (pair === undefined) throw new Error('no pair on Linux');
    try {
      pair.theirs.write('for us');
      await rx.arrived;
      expect(rx.text()).toBe('for us');
      expect(strangerGot).toEqual([]);
    } finally {
      pair.ours.destroy();
      pair.theirs.destroy();
      for (const s of strangers) s.destroy();
    }
  });
});
