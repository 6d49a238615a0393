import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startS3rverBucket } from '../helpers/s3rver.js';
import { openStore } from '../../src/store/open-store.js';
import { probeConditionalWrites } from '../../src/store/probe.js';
import { startHttpStoreServer } from '../helpers/http-store-server.js';
import { s3TestUrl } from '../helpers/s3-test-store.js';


const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'flotilla-probe-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('probeConditionalWrites', () => {
  it('says true on the directory store and leaves nothing behind', async () => {
    const store = openStore(await tempDir());
    expect(await probeConditionalWrites(store)).toEqual({ ok: true });
    expect((await store.list('probe/')).items).toEqual([]);
  });

  it('says true on Ceph RGW (or the configured S3 server) and leaves nothing behind', async () => {
    const store = openStore(await s3TestUrl());
    try {
      expect(await probeConditionalWrites(store)).toEqual({ ok: true });
      expect((await store.list('probe/')).items).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('says false on s3rver, which ignores preconditions', async () => {
    const s3rver = await startS3rverBucket('probe-bucket');
    const store = openStore(s3rver.storeUrl);
    try {
      const r = await probeConditionalWrites(store);
      expect(r.ok).toBe(false);
      expect(r.reason).toMatch(/accepted a second create-if-absent/);
    } finally {
      await store.close();
      await s3rver.close();
    }
  });

  it('says false on an HTTP store, even a writable one', async () => {
    const server = await startHttpStoreServer(await tempDir(), { writable: true });
    try {
      const r = await probeConditionalWrites(openStore(server.url, { writable: true }));
      expect(r).toEqual({ ok: false, reason: expect.stringMatching(/no create-if-absent or compare-and-swap/) as string });
      const ro = await probeConditionalWrites(openStore(server.url));
      expect(ro).toEqual({ ok: false, reason: expect.stringMatching(/read-only/) as string });
    } finally {
      await server.close();
    }
  });

  it('says false on a read-only directory store', async () => {
    const r = await probeConditionalWrites(openStore(await tempDir(), { writable: false }));
    expect(r).toEqual({ ok: false, reason: expect.stringMatching(/read-only/) as string });
  });
});
