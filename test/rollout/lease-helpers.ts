import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../src/rollout/clock.js';
import { LeaseObserver, type AcquireOptions } from '../../src/rollout/lease.js';
import { digestFromHex } from '../../src/store/digest.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';

export const DIGEST = digestFromHex('e'.repeat(64));

/** A clock port we drive by hand: monotonic time moves only when told; the wall clock may be skewed. */
export class FakeClock implements Clock {
  mono = 1_000_000;
  constructor(private readonly skewMs = 0) {}
  monotonicMs(): number {
    return this.mono;
  }
  now(): Date {
    return new Date(Date.now() + this.skewMs);
  }
  advance(ms: number): void {
    this.mono += ms;
  }
}

/** A real directory store in a fresh temp dir. */
export async function tempFsStore(): Promise<{ store: Store; url: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-lease-'));
  const store = openStore(dir);
  return { store, url: dir, cleanup: async () => { await store.close(); await rm(dir, { recursive: true, force: true }); } };
}

/** Acquire options for one contender (its own observer, holder id and clock). */
export function contender(store: Store, machine: string, over: Partial<AcquireOptions> = {}): AcquireOptions {
  return {
    store, set: 'web', rollout: 'r-test', slots: 1, machine, holder: `${machine}-holder`, digest: DIGEST, ttlMs: 60_000,
    clock: new FakeClock(), observations: new LeaseObserver(), ...over,
  };
}
