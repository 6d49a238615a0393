// A decompressor's output read into two reused buffers (src/nix/tool-reader.ts), through a socket this
// process reads into them or, without one, the tool's stdout pipe: every byte in order, a view never
// overwritten while the consumer holds it, the cap, the tool's failure, the consumer's, the signal and
// the idle deadline each ending the read with the tool killed. Real tools (`cat`, `head`, `sh`, `sleep`).
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnToolReader, type ToolReaderOptions } from '../../src/nix/tool-reader.js';
import { makeTempDir } from '../helpers/package-fixtures.js';

let t: { dir: string; cleanup: () => Promise<void> };
const fds: number[] = [];
beforeEach(async () => {
  t = await makeTempDir();
});
afterEach(async () => {
  for (const fd of fds.splice(0)) closeSync(fd);
  await t.cleanup();
});

const tooBig = (): Error => new Error('too big');
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A file of `bytes` random bytes, opened for a tool to read as its stdin. */
async function input(bytes: number): Promise<{ data: Buffer; fd: number }> {
  const data = randomBytes(bytes);
  const file = join(t.dir, `in-${bytes}`);
  await writeFile(file, data);
  const fd = openSync(file, 'r');
  fds.push(fd);
  return { data, fd };
}

/**
 * Drains `cat`'s output of `data` with a consumer that holds every other view for a few milliseconds and
 * checks, as it lets go, that the view still holds what it was handed: a reader that refilled a view the
 * consumer holds fails that check, whatever the total's hash says.
 */
async function catThrough(socket: boolean, bytes: number): Promise<void> {
  const { data, fd } = await input(bytes);
  const reader = await spawnToolReader('/bin/cat', [], { stdin: fd, cap: bytes, tooBig, socket });
  const out: Buffer[] = [];
  let overwritten = 0;
  let n = 0;
  const total = await reader.drain((view) => {
    const copy = Buffer.from(view);
    out.push(copy);
    if (n++ % 2 === 1) return undefined;
    return new Promise<void>((resolve) =>
      setTimeout(() => {
        if (!view.equals(copy)) overwritten += 1;
        resolve();
      }, 3),
    );
  });
  expect(overwritten).toBe(0);
  expect(total).toBe(bytes);
  expect(sha(Buffer.concat(out))).toBe(sha(data));
  // Views of up to the buffer's size, not the pipe's 64 KiB reads.
  expect(out.length).toBeLessThan(bytes / (64 * 1024));
}

describe.each([
  ['through a socket', true],
  ['through the pipe', false],
])('tool reader %s', (_how, socket) => {
  const opts = (o: Omit<ToolReaderOptions, 'socket'>): ToolReaderOptions => ({ ...o, socket });

  it('hands on every byte in order, in views the consumer may hold until it releases them', async () => {
    await catThrough(socket, 9 * 1024 * 1024 + 12_345);
  });

  it('takes its input through stdin when asked, ending when the input does', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 7);
    const reader = await spawnToolReader('/bin/cat', [], opts({ stdin: 'pipe', cap: data.length, tooBig }));
    const out: Buffer[] = [];
    const drained = reader.drain((view) => void out.push(Buffer.from(view)));
    const stdin = reader.stdin;
    if (stdin === null) throw new Error('no stdin');
    await new Promise<void>((resolve, reject) => stdin.write(data, (err) => (err ? reject(err) : resolve())));
    reader.endInput();
    expect(await drained).toBe(data.length);
    expect(Buffer.concat(out).equals(data)).toBe(true);
  });

  it('a write to its stdin is done only once the pipe took the bytes, so the writer may reuse its buffer then', async () => {
    // One 4 KiB buffer is refilled after each write's callback while the pipe is often full (decodeToolNar
    // reuses its read buffer so): were the callback called once stdin merely queued the bytes, the pipe
    // would carry the next chunk's bytes in place of these.
    const data = Array.from({ length: 4096 }, (_, i) => createHash('sha256').update(String(i)).digest().toString('hex').repeat(64));
    const reader = await spawnToolReader('/bin/cat', [], opts({ stdin: 'pipe', cap: 1 << 30, tooBig }));
    const out = createHash('sha256');
    const drained = reader.drain((view) => void out.update(view));
    const stdin = reader.stdin;
    if (stdin === null) throw new Error('no stdin');
    const buf = Buffer.alloc(4096);
    for (const text of data) {
      buf.write(text, 'latin1');
      await new Promise<void>((resolve, reject) => stdin.write(buf, (err) => (err ? reject(err) : resolve())));
    }
    reader.endInput();
    await drained;
    expect(out.digest('hex')).toBe(createHash('sha256').update(data.join('')).digest('hex'));
  });

  it('fails with the cap\'s error once the output passes it, and stops the tool', async () => {
    const { fd } = await input(4 * 1024 * 1024);
    // `cat` of 4 MiB against a cap of 1 MiB; were the tool not stopped, `yes` below would never end.
    const reader = await spawnToolReader('/bin/cat', [], opts({ stdin: fd, cap: 1024 * 1024, tooBig }));
    await expect(reader.drain(() => undefined)).rejects.toThrow('too big');
    const endless = await spawnToolReader('/usr/bin/yes', [], opts({ stdin: fd, cap: 1024 * 1024, tooBig }));
    await expect(endless.drain(() => undefined)).rejects.toThrow('too big');
  });

  it('fails quoting the tool\'s stderr when it exits otherwise than 0, whatever it wrote before', async () => {
    const { fd } = await input(10);
    const reader = await spawnToolReader('/bin/sh', ['-c', 'head -c 100000 /dev/zero; echo corrupt frame >&2; exit 3'], opts({ stdin: fd, cap: 1 << 30, tooBig }));
    await expect(reader.drain(() => undefined)).rejects.toThrow(/sh -c .* failed \(exit 3\): corrupt frame/);
  });

  it('fails with the consumer\'s error and stops the tool', async () => {
    const { fd } = await input(10);
    const reader = await spawnToolReader('/usr/bin/yes', [], opts({ stdin: fd, cap: 1 << 30, tooBig }));
    await expect(reader.drain(() => Promise.reject(new Error('disk full')))).rejects.toThrow('disk full');
    const thrower = await spawnToolReader('/usr/bin/yes', [], opts({ stdin: fd, cap: 1 << 30, tooBig }));
    await expect(
      thrower.drain(() => {
        throw new Error('parser says no');
      }),
    ).rejects.toThrow('parser says no');
  });

  it('fails with the signal\'s reason when aborted, and stops the tool', async () => {
    const { fd } = await input(10);
    const ac = new AbortController();
    const reader = await spawnToolReader('/bin/sleep', ['30'], opts({ stdin: fd, cap: 100, tooBig, signal: ac.signal }));
    const drained = reader.drain(() => undefined);
    setTimeout(() => ac.abort(new Error('deadline')), 50);
    await expect(drained).rejects.toThrow('deadline');
  });

  it('kills a tool silent past the idle deadline once its input ended, saying so', async () => {
    const { fd } = await input(10);
    const reader = await spawnToolReader('/bin/sleep', ['30'], opts({ stdin: fd, cap: 100, tooBig, idleMs: 200 }));
    await expect(reader.drain(() => undefined)).rejects.toThrow(/sleep 30 produced nothing for 200 ms after its input ended/);
  });

  it('does not count a consumer holding it up against the tool\'s idle deadline', async () => {
    const { data, fd } = await input(4 * 1024 * 1024);
    const reader = await spawnToolReader('/bin/cat', [], opts({ stdin: fd, cap: data.length, tooBig, idleMs: 100 }));
    const out: Buffer[] = [];
    const total = await reader.drain((view) => {
      out.push(Buffer.from(view));
      return new Promise((resolve) => setTimeout(resolve, 150));
    });
    expect(total).toBe(data.length);
    expect(Buffer.concat(out).equals(data)).toBe(true);
  });

  it('fails saying so when the tool cannot run', async () => {
    const { fd } = await input(10);
    const reader = await spawnToolReader(join(t.dir, 'no-such-tool'), [], opts({ stdin: fd, cap: 100, tooBig }));
    await expect(reader.drain(() => undefined)).rejects.toThrow(/no-such-tool could not run/);
  });
});
