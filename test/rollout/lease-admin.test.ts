import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireSlot, LeaseObserver } from '../../src/rollout/lease.js';
import { listSlotLeases } from '../../src/rollout/lease-admin.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { DIGEST, FakeClock } from './lease-helpers.js';

describe('listSlotLeases', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-lease-admin-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('for one rollout lists only that rollout\'s objects: finished rollouts cost nothing to read', async () => {
    const fs = openStore(join(dir, 'store'), { writable: true });
    const take = async (rollout: string, machine: string): Promise<void> => {
      const lease = await acquireSlot({ store: fs, set: 'web', rollout, slots: 2, machine, holder: `${machine}-1`, digest: DIGEST, ttlMs: 60_000, clock: new FakeClock(), observations: new LeaseObserver() });
      expect(lease).not.toBeNull();
    };
    await take('rold', 'a');
    await take('rold', 'b');
    await take('rnew', 'c');
    // A store that records what is listed and read (a wrapper of a port we own).
    const listed: string[] = [];
    const read: string[] = [];
    const recording: Store = {
      ...fs,
      list: (prefix, o) => (listed.push(prefix), fs.list(prefix, o)),
      get: (key, o) => (read.push(key), fs.get(key, o)),
      getBytes: (key, o) => (read.push(key), fs.getBytes(key, o)),
      head: (key, o) => (read.push(key), fs.head(key, o)),
    };
    const current = await listSlotLeases(recording, 'web', 'rnew');
    expect(current.map((l) => [l.rollout, l.machine])).toEqual([['rnew', 'c']]);
    expect(listed).toEqual(['leases/web/rnew/']);
    expect(read.every((k) => k.startsWith('leases/web/rnew/'))).toBe(true);
    // Without a rollout (the operator's unlock of a machine everywhere), every rollout is read.
    expect((await listSlotLeases(fs, 'web')).map((l) => l.machine).sort()).toEqual(['a', 'b', 'c']);
    await fs.close();
  });
});
