// A discrete-event clock for the scale simulation: the real decision code runs unchanged on it (it is the
// Clock port of src/rollout/clock.ts plus a timer), while time only moves when the next event is due, so a
// simulated hour of 10,000 machines takes seconds instead of an hour and no real timer is ever armed.
import type { Clock } from '../../src/rollout/clock.js';

interface SimEvent {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A binary min-heap of events by (time, insertion order): equal times run in the order they were scheduled. */
class EventHeap {
  private readonly items: SimEvent[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): SimEvent | undefined {
    return this.items[0];
  }

  push(e: SimEvent): void {
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(e, a[p] as SimEvent)) break;
      a[i] = a[p] as SimEvent;
      i = p;
    }
    a[i] = e;
  }

  pop(): SimEvent | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined || a.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const r = l + 1;
      const c = r < a.length && before(a[r] as SimEvent, a[l] as SimEvent) ? r : l;
      if (!before(a[c] as SimEvent, last)) break;
      a[i] = a[c] as SimEvent;
      i = c;
    }
    a[i] = last;
    return top;
  }
}

function before(x: SimEvent, y: SimEvent): boolean {
  return x.at < y.at || (x.at === y.at && x.seq < y.seq);
}

const drain = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Simulated time: a Clock (monotonic ms from 0, wall time from `epochMs`) with timers on the same time line. */
export class SimClock implements Clock {
  private t = 0;
  private seq = 0;
  private readonly heap = new EventHeap();
  /** Events run so far (for the benchmark's own cost line). */
  events = 0;
  /** Errors thrown by event callbacks: the run stops on the first one (a simulation bug, never hidden). */
  private failure: unknown;

  constructor(readonly epochMs: number) {}

  monotonicMs(): number {
    return this.t;
  }

  now(): Date {
    return new Date(this.epochMs + this.t);
  }

  /** Wall time in epoch ms (what Date.now() would say). */
  nowMs(): number {
    return this.epochMs + this.t;
  }

  /** Runs `fn` after `ms` of simulated time; returns its cancel. */
  after(ms: number, fn: () => void): () => void {
    const e: SimEvent = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.heap.push(e);
    return () => void (e.cancelled = true);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted === true) return reject(signal.reason as Error);
      const cancel = this.after(ms, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      const onAbort = (): void => {
        cancel();
        reject(signal?.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  every(ms: number, fn: () => void): () => void {
    let stopped = false;
    let cancel = (): void => undefined;
    const beat = (): void => {
      if (stopped) return;
      cancel = this.after(ms, beat);
      fn();
    };
    cancel = this.after(ms, beat);
    return () => {
      stopped = true;
      cancel();
    };
  }

  /**
   * Runs every event due up to `untilMs` (monotonic), in time order, letting the promise chains each event
   * starts settle (a macrotask turn) before time moves on; then leaves the clock at `untilMs`. Throws the
   * first error an event callback threw.
   */
  async runUntil(untilMs: number): Promise<void> {
    for (;;) {
      const next = this.heap.peek();
      if (next === undefined || next.at > untilMs) break;
      this.t = next.at;
      // Every event due at this instant, then one turn for what they started.
      while (this.heap.peek()?.at === this.t) {
        const e = this.heap.pop() as SimEvent;
        if (e.cancelled) continue;
        this.events++;
        try {
          e.fn();
        } catch (err) {
          this.failure ??= err;
        }
      }
      await drain();
      if (this.failure !== undefined) throw this.failure as Error;
    }
    this.t = Math.max(this.t, untilMs);
  }

  /** Runs until `done()` is true (checked after each instant) or `limitMs` passes; returns whether it became true. */
  async runWhile(done: () => boolean, limitMs: number): Promise<boolean> {
    const end = this.t + limitMs;
    while (!done()) {
      const next = this.heap.peek();
      if (next === undefined || next.at > end) {
        this.t = end;
        return done();
      }
      await this.runUntil(next.at);
    }
    return true;
  }
}
