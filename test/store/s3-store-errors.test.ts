import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors/index.js';
import { openStore } from '../../src/store/open-store.js';
import { createS3Store, type S3StoreOptions } from '../../src/store/s3-store.js';
import { parseStoreUrl } from '../../src/store/store-url.js';
import { findFreePort } from '../../scripts/servers/free-port.js';
import { s3TestUrl } from '../helpers/s3-test-store.js';
import { generateStream, hashStream } from './big-stream.js';

const errorOf = (p: Promise<unknown>): Promise<unknown> => p.then(() => undefined, (e: unknown) => e);

function optionsFor(url: string): S3StoreOptions {
  const loc = parseStoreUrl(url);
  if (loc.kind !== 's3') throw new Error('not s3');
  return { bucket: loc.bucket, prefix: loc.prefix, ...(loc.endpoint !== undefined ? { endpoint: loc.endpoint } : {}), ...(loc.region !== undefined ? { region: loc.region } : {}), forcePathStyle: true, url: loc.display };
}

describe('S3 store against the real server', () => {
  it('keeps to its prefix, and returns etags without quotes', async () => {
    const url = await s3TestUrl();
    const root = openStore(url);
    const inner = openStore(url.replace('/?', '/inner/?'));
    await root.put('outside', Buffer.from('o'));
    const { etag } = await inner.put('k', Buffer.from('i'));
    expect(etag).toMatch(/^[0-9a-f]{32}$/);
    expect((await inner.list('')).items.map((i) => i.key)).toEqual(['k']);
    expect((await root.list('')).items.map((i) => i.key)).toEqual(['inner/k', 'outside']);
    await Promise.all([root.close(), inner.close()]);
  });

  it('uploads multipart streams, and refuses a multipart create-if-absent over an existing key', async () => {
    const o = { ...optionsFor(await s3TestUrl()), partSize: 5 << 20, partConcurrency: 2 };
    const s = createS3Store(o);
    const gen = generateStream(12 << 20);
    const { etag } = await s.put('mp', gen.stream, { ifNoneMatch: '*' });
    expect(etag).toMatch(/-3$/); // three parts
    expect(await hashStream(await s.get('mp'))).toEqual({ size: 12 << 20, sha256: await gen.sha256 });
    const again = generateStream(12 << 20);
    expect(hasCode(await errorOf(s.put('mp', again.stream, { ifNoneMatch: '*' })), 'PreconditionFailedError')).toBe(true);
    const swapped = generateStream(11 << 20);
    expect(hasCode(await errorOf(s.put('mp', swapped.stream, { ifMatch: 'f'.repeat(32) })), 'PreconditionFailedError')).toBe(true);
    expect((await s.head('mp')).etag).toBe(etag);
    await s.close();
  });

  it('reports bad credentials as AccessDeniedError and a missing bucket as ConfigError, not as a missing object', async () => {
    const url = await s3TestUrl();
    const o = optionsFor(url);
    const missingBucket = createS3Store({ ...o, bucket: 'flotilla-no-such-bucket-x1' });
    // GET and PUT name NoSuchBucket; HEAD has no body, so on HEAD a missing bucket is a plain 404.
    const e1 = await errorOf(missingBucket.getBytes('k', { maxBytes: 10 }));
    expect(hasCode(await errorOf(missingBucket.put('k', Buffer.from('x'))), 'ConfigError')).toBe(true);
    expect(hasCode(e1, 'ConfigError')).toBe(true);
    expect(missingBucket.isNotFound(e1)).toBe(false);
    const saved = process.env.AWS_SECRET_ACCESS_KEY;
    process.env.AWS_SECRET_ACCESS_KEY = 'wrong-secret';
    try {
      const wrong = createS3Store(o);
      const e2 = await errorOf(wrong.put('k', Buffer.from('x')));
      expect(hasCode(e2, 'AccessDeniedError')).toBe(true);
      expect((e2 as Error).message).not.toContain('wrong-secret');
      await wrong.close();
    } finally {
      process.env.AWS_SECRET_ACCESS_KEY = saved;
    }
    await missingBucket.close();
  });

  it('turns an unreachable endpoint into TransportError after bounded retries', async () => {
    const port = await findFreePort();
    const s = createS3Store({ bucket: 'bucket', prefix: '', endpoint: `http://127.0.0.1:${port}`, url: `s3://bucket`, deadlines: { attempts: 2 } });
    const err = await errorOf(s.head('k'));
    expect(hasCode(err, 'TransportError')).toBe(true);
    expect((err as Error).message).toContain('s3://bucket');
    await s.close();
  });

  it('hashes match what was written for bytes put in one request', async () => {
    const s = openStore(await s3TestUrl());
    const body = Buffer.from('x'.repeat(1000));
    await s.put('one', body, { contentType: 'text/plain' });
    const back = await s.getBytes('one', { maxBytes: 1000 });
    expect(createHash('sha256').update(back).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
    await s.close();
  });
});
