import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open-store.js';
import { probeConditionalWrites } from '../../src/store/probe.js';
import { createS3Client } from '../../src/store/s3-store.js';
import { startHttpStoreServer } from '../helpers/http-store-server.js';
import { s3TestUrl } from '../helpers/s3-test-store.js';

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
type S3rverClass = new (options: { address: string; port: number; directory: string; silent: boolean }) => S3rverInstance;

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
    const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;
    const server = new S3rver({ address: '127.0.0.1', port: 0, directory: await tempDir(), silent: true });
    const { port } = await server.run();
    const endpoint = `http://127.0.0.1:${port}`;
    process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
    process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
    const admin = createS3Client({ bucket: 'probe-bucket', prefix: '', endpoint, url: endpoint });
    await admin.send(new CreateBucketCommand({ Bucket: 'probe-bucket' }));
    admin.destroy();
    const store = openStore(`s3://probe-bucket/?endpoint=${encodeURIComponent(endpoint)}&region=us-east-1`);
    try {
      const r = await probeConditionalWrites(store);
      expect(r.ok).toBe(false);
      expect(r.reason).toMatch(/accepted a second create-if-absent/);
    } finally {
      await store.close();
      await server.close();
    }
  });

  it('says false on an HTTP store, even a writable one', async () => {
    const server = await startHttpStoreServer(await tempDir(), { writable: true });
    try {
      const r = await probeConditionalWrites(openStore(server.url, { writable: true }));
      expect(r).toEqual({ ok: false, reason: expect.stringMatching(/no create-if-absent or compare-and-swap/) });
      const ro = await probeConditionalWrites(openStore(server.url));
      expect(ro).toEqual({ ok: false, reason: expect.stringMatching(/read-only/) });
    } finally {
      await server.close();
    }
  });

  it('says false on a read-only directory store', async () => {
    const r = await probeConditionalWrites(openStore(await tempDir(), { writable: false }));
    expect(r).toEqual({ ok: false, reason: expect.stringMatching(/read-only/) });
  });
});
