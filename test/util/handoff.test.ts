// The bridge from a reader that reuses one buffer to a consumer that pulls: a push settles only once the
// consumer is done with the view, and every way either side can stop reaches the other.
import { describe, expect, it } from 'vitest';
import { createHandoff } from '../../src/util/handoff.js';

/** Whether `p` settled by the time queued callbacks ran (and how). */
async function state(p: Promise<unknown>): Promise<'pending' | 'resolved' | 'rejected'> {
  let s: 'pending' | 'resolved' | 'rejected' = 'pending';
  p.then(() => (s = 'resolved'), () => (s = 'rejected'));
  await new Promise((r) => setImmediate(r));
  return s;
}

describe('handoff', () => {
  it('settles a push only when the consumer pulls the next chunk, then ends the iteration', async () => {
    const h = createHandoff();
    const it = h.chunks[Symbol.asyncIterator]();
    const first = h.push(Buffer.from('a'));
    expect(String((await it.next()).value)).toBe('a');
    // The consumer holds the view: the reader must not reuse its buffer yet.
    expect(await state(first)).toBe('pending');
    const pulled = it.next();
    expect(await state(first)).toBe('resolved');
    const second = h.push(Buffer.from('b'));
    expect(String((await pulled).value)).toBe('b');
    const last = it.next();
    expect(await state(second)).toBe('resolved');
    h.end();
    expect((await last).done).toBe(true);
  });

  it('refuses a push before the previous one settled', async () => {
    const h = createHandoff();
    void h.push(Buffer.from('a'));
    await expect(h.push(Buffer.from('b'))).rejects.toThrow(/before the previous one settled/);
  });

  it('a failed reader rejects the waiting pull', async () => {
    const h = createHandoff();
    const pull = h.chunks[Symbol.asyncIterator]().next();
    h.fail(new Error('connection reset'));
    await expect(pull).rejects.toThrow('connection reset');
  });

  it('a consumer that stopped on an error rejects the push it holds and every later one with that error', async () => {
    const h = createHandoff();
    const held = h.push(Buffer.from('a'));
    await h.chunks[Symbol.asyncIterator]().next();
    h.close(new Error('bad NAR'));
    await expect(held).rejects.toThrow('bad NAR');
    await expect(h.push(Buffer.from('b'))).rejects.toThrow('bad NAR');
  });

  it('a consumer that finished releases the push it holds', async () => {
    const h = createHandoff();
    const held = h.push(Buffer.from('a'));
    await h.chunks[Symbol.asyncIterator]().next();
    h.close();
    await expect(held).resolves.toBeUndefined();
    await expect(h.push(Buffer.from('b'))).rejects.toThrow(/consumer stopped/);
  });
});
