// getIfChanged on every backend, counted on the wire: an unchanged object costs one request answered 304
// with no body (the head pointer's poll relies on it), a changed one comes back with its new etag.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hasCode } from '../../src/errors/index.js';
import { countRequests } from '../../src/fetch/counting-store.js';
import { readIfChanged } from '../../src/store/conditional-get.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { startHttpStoreServer } from '../helpers/http-store-server.js';
import { startRecordingProxy, type RecordingProxy } from '../helpers/recording-proxy.js';
import { s3TestUrl } from '../helpers/s3-test-store.js';

interface Backend {
  reader: Store;
  writer: Store;
  /** Requests the reader made on the wire (status, body bytes), when there is a wire. */
  proxy?: RecordingProxy;
  cleanup(): Promise<void>;
}

const backends: Record<string, () => Promise<Backend>> = {
  directory: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flotilla-cget-'));
    const store = openStore(dir);
    return { reader: store, writer: store, cleanup: () => rm(dir, { recursive: true, force: true }) };
  },
  http: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flotilla-cget-http-'));
    const server = await startHttpStoreServer(dir);
    const proxy = await startRecordingProxy(server.url);
    return {
      reader: openStore(proxy.url),
      writer: openStore(dir),
      proxy,
      cleanup: async () => {
        await proxy.close();
        await server.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  s3: async () => {
    const direct = await s3TestUrl('cget/');
    const proxy = await startRecordingProxy(`${inject('s3').endpoint.replace(/\/?$/, '/')}`);
    const viaProxy = direct.replace(/endpoint=[^&]+/, `endpoint=${encodeURIComponent(proxy.url.replace(/\/$/, ''))}`);
    const reader = openStore(viaProxy);
    const writer = openStore(direct);
    return {
      reader,
      writer,
      proxy,
      cleanup: async () => {
        await reader.close();
        await writer.close();
        await proxy.close();
      },
    };
  },
};

for (const [name, make] of Object.entries(backends)) {
  describe(`getIfChanged: ${name}`, () => {
    let b: Backend;
    beforeAll(async () => {
      b = await make();
    });
    afterAll(async () => b?.cleanup());

    it('answers an unchanged object with notModified in one request and no body, a changed one with bytes and etag', async () => {
      expect(typeof b.reader.getIfChanged).toBe('function');
      const v1 = await b.writer.put('heads/main.json', Buffer.from('{"v":1}'));
      const first = await b.reader.getIfChanged!('heads/main.json', undefined, { maxBytes: 100 });
      expect(first).toEqual({ notModified: false, bytes: Buffer.from('{"v":1}'), etag: v1.etag });
      const counter = { requests: 0 };
      const counted = countRequests(b.reader, counter);
      const before = b.proxy?.answers.length ?? 0;
      expect(await counted.getIfChanged!('heads/main.json', v1.etag, { maxBytes: 100 })).toEqual({ notModified: true });
      expect(counter.requests).toBe(1);
      if (b.proxy) {
        const wire = b.proxy.answers.slice(before);
        expect(wire.map((a) => [a.status, a.bytes])).toEqual([[304, 0]]);
      }
      const v2 = await b.writer.put('heads/main.json', Buffer.from('{"v":2}'));
      expect(await b.reader.getIfChanged!('heads/main.json', v1.etag, { maxBytes: 100 })).toEqual({ notModified: false, bytes: Buffer.from('{"v":2}'), etag: v2.etag });
      // The same, through the fallback every Store has (HEAD, then GET when changed).
      const bare: Store = { ...b.reader };
      delete bare.getIfChanged;
      expect(await readIfChanged(bare, 'heads/main.json', v2.etag, { maxBytes: 100 })).toEqual({ notModified: true });
      expect(await readIfChanged(bare, 'heads/main.json', v1.etag, { maxBytes: 100 })).toMatchObject({ notModified: false, etag: v2.etag });
    });

    it('reports a missing object as NotFoundError and an oversized one as SizeLimitError', async () => {
      const missing = await b.reader.getIfChanged!('heads/nope.json', undefined, { maxBytes: 100 }).catch((e: unknown) => e);
      expect(b.reader.isNotFound(missing)).toBe(true);
      await b.writer.put('heads/big.json', Buffer.alloc(500, 0x20));
      const big = await b.reader.getIfChanged!('heads/big.json', 'stale', { maxBytes: 100 }).catch((e: unknown) => e);
      expect(hasCode(big, 'SizeLimitError')).toBe(true);
    });
  });
}
