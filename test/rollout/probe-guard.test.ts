import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startS3rverBucket } from '../helpers/s3rver.js';
import { UnsupportedOperationError } from '../../src/errors/index.js';
import { requireCoordinationSafe } from '../../src/rollout/probe-guard.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';


const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'flotilla-guard-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('requireCoordinationSafe', () => {
  it('accepts the directory store', async () => {
    await expect(requireCoordinationSafe(openStore(await tempDir()), true)).resolves.toBeUndefined();
  });

  it('refuses a read-only store with a message that says why and what to do', async () => {
    const err = await requireCoordinationSafe(openStore(await tempDir(), { writable: false }), true).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedOperationError);
    expect((err as Error).message).toMatch(/refusing to coordinate rollouts through .*read-only.*batchSize: all/s);
  });

  it('refuses s3rver, which ignores preconditions', async () => {
    const s3rver = await startS3rverBucket('guard-bucket');
    const store = openStore(s3rver.storeUrl);
    try {
      await expect(requireCoordinationSafe(store, true)).rejects.toThrow(/refusing to coordinate.*create-if-absent/s);
      // Without batching there is nothing to coordinate: the same store is fine.
      await expect(requireCoordinationSafe(store, false)).resolves.toBeUndefined();
    } finally {
      await store.close();
      await s3rver.close();
    }
  });

  it('needs no probe for a set without leases, and probes each store once', async () => {
    const store = openStore(await tempDir());
    let calls = 0;
    const probe = (_s: Store): Promise<{ ok: boolean; reason?: string }> => {
      calls++;
      return Promise.resolve({ ok: false, reason: 'recorded answer' });
    };
    await requireCoordinationSafe(store, false, probe);
    expect(calls).toBe(0);
    await expect(requireCoordinationSafe(store, true, probe)).rejects.toThrow(/recorded answer/);
    await expect(requireCoordinationSafe(store, true, probe)).rejects.toThrow(/recorded answer/);
    expect(calls).toBe(1);
  });
});
