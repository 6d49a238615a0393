import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../src/rollout/clock.js';
import { acquireSlot, LeaseObserver, type Lease } from '../src/rollout/lease.js';
import { digestFromHex } from '../src/store/digest.js';
import { openStore } from '../src/store/open-store.js';
import type { Store } from '../src/store/store.js';
import { printTable, seconds, spread } from './lib/stats.js';

/** What `npm run bench -- leases --help` prints: the synopsis, then what it measures. */
export const usage = "npm run bench -- leases [--store URL] [--contenders N] [--rounds R]\nThe lease protocol: acquire and release latency, store requests per acquisition, contended hand-overs per second.";

// `npm run bench -- leases [--store URL] [--contenders N] [--rounds R]`: the cost of the lease protocol.
// Figures: uncontended acquire and release latency, store requests per acquisition, and a contended
// hand-over (N contenders, one slot, each winner releases at once) in hand-overs per second. The fleet
// target is a per-batch overhead ≤ 1 s, so an acquisition should cost a few tens of milliseconds.

const DIGEST = digestFromHex('b'.repeat(64));

/** Wraps a store to count requests by operation. */
function counting(store: Store): { store: Store; counts: Map<string, number> } {
  const counts = new Map<string, number>();
  const bump = (op: string): void => void counts.set(op, (counts.get(op) ?? 0) + 1);
  const wrapped: Store = {
    url: store.url,
    capabilities: store.capabilities,
    get: (k, o) => (bump('get'), store.get(k, o)),
    getBytes: (k, o) => (bump('get'), store.getBytes(k, o)),
    put: (k, b, o) => (bump('put'), store.put(k, b, o)),
    head: (k, o) => (bump('head'), store.head(k, o)),
    list: (p, o) => (bump('list'), store.list(p, o)),
    delete: (k, o) => (bump('delete'), store.delete(k, o)),
    isNotFound: (e) => store.isNotFound(e),
    close: () => store.close(),
  };
  return { store: wrapped, counts };
}

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

export async function run(args: string[]): Promise<void> {
  const contenders = Number(arg(args, 'contenders') ?? 20);
  const rounds = Number(arg(args, 'rounds') ?? 20);
  const dir = arg(args, 'store') === undefined ? await mkdtemp(join(tmpdir(), 'flotilla-bench-leases-')) : undefined;
  const base = openStore(arg(args, 'store') ?? dir!);
  const { store, counts } = counting(base);
  try {
    const opts = (machine: string, rollout: string) => ({
      store, set: 'bench', rollout, slots: 1, machine, holder: `${machine}-h`, digest: DIGEST, ttlMs: 60_000, clock: systemClock, observations: new LeaseObserver(),
    });
    const acquire: number[] = [];
    const release: number[] = [];
    for (let i = 0; i < rounds; i++) {
      let lease: Lease | null = null;
      acquire.push(await seconds(async () => (lease = await acquireSlot(opts('solo', `r-solo-${i % 2}`)))));
      release.push(await seconds(async () => lease!.release()));
    }
    const soloRequests = [...counts.values()].reduce((a, b) => a + b, 0) / rounds;
    counts.clear();
    const pool = Array.from({ length: contenders }, (_, i) => opts(`m${i}`, 'r-contended'));
    let handovers = 0;
    const total = await seconds(async () => {
      for (let r = 0; r < rounds; r++) {
        const winners = (await Promise.all(pool.map((o) => acquireSlot(o)))).filter((l): l is Lease => l !== null);
        if (winners.length !== 1) throw new Error(`round ${r}: ${winners.length} winners`);
        await winners[0]!.release();
        handovers++;
      }
    });
    const contendedRequests = [...counts.values()].reduce((a, b) => a + b, 0) / rounds;
    printTable(
      ['figure', 'value'],
      [
        ['store', base.url],
        ['uncontended acquire, ms (median, min-max)', spread(acquire.map((s) => s * 1000), 1)],
        ['release, ms', spread(release.map((s) => s * 1000), 1)],
        ['requests per uncontended acquire+release', soloRequests.toFixed(1)],
        [`contended hand-overs per second (${contenders} contenders)`, (handovers / total).toFixed(1)],
        [`requests per contended round (all ${contenders} contenders)`, contendedRequests.toFixed(1)],
      ],
    );
  } finally {
    await base.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}
