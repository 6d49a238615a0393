// An object whose body never ends (a real HTTP server streaming forever, no Content-Length) is cut at the
// size its signed manifest declares. Two layers do that, and each is tested without the other's help:
//   - the fetch counts the bytes it is given and stops past the signed size, whatever the backend does
//     (the backend here is the real HTTP store behind a wrapper that ignores maxBytes);
//   - the HTTP store's stream errors past maxBytes on its own (read with a plain loop that does not count).
// Both readers carry a generous safety cap of their own, so a missing defence fails the test, not the disk.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors/index.js';
import { fetchClosure } from '../../src/fetch/fetch-closure.js';
import { pushDirectory } from '../../src/publish/push-directory.js';
import type { Digest } from '../../src/store/digest.js';
import { objectKey } from '../../src/store/keys.js';
import { openStore } from '../../src/store/open-store.js';
import type { GetOptions, Store } from '../../src/store/store.js';
import { sha } from '../helpers/craft-manifest.js';
import { startFaultServer, type FaultServer } from '../helpers/fault-server.js';
import { makeKeyPair, makeTempDir } from '../helpers/package-fixtures.js';

const SIZE = 200_000;
/** Far past any honest cut (one network chunk past SIZE), far short of filling a disk. */
const SAFETY_CAP = 64 * 1024 * 1024;

/** Passes bytes through until SAFETY_CAP, then fails with a plain Error naming the test's own cap. */
function safetyCap(): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done): void {
      seen += chunk.length;
      done(seen > SAFETY_CAP ? new Error(`test safety cap: ${seen} bytes passed and the stream did not stop`) : null, chunk);
    },
  });
}

/** The real store, except that `get` ignores maxBytes (and records what it was asked for). */
function ignoringMaxBytes(store: Store, asked: Array<number | undefined>): Store {
  const remote: Store = {
    ...store,
    get: async (key: string, o: GetOptions = {}): Promise<Readable> => {
      asked.push(o.maxBytes);
      const { maxBytes: _ignored, ...rest } = o;
      const src = await store.get(key, rest);
      const out = safetyCap();
      src.on('error', (err) => out.destroy(err));
      out.on('close', () => src.destroy());
      return src.pipe(out);
    },
  };
  delete remote.localPath;
  return remote;
}

describe('an object body that never ends', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let server: FaultServer;
  let digest: Digest;
  let victim: Digest;
  let n = 0;
  const key = makeKeyPair('release-1');

  beforeAll(async () => {
    t = await makeTempDir();
    const src = join(t.dir, 'src');
    await mkdir(src);
    const body = Buffer.alloc(SIZE, 5);
    await writeFile(join(src, 'victim.bin'), body);
    victim = sha(body);
    digest = (await pushDirectory(openStore(join(t.dir, 'good')), src, { name: 'app', signKeys: [key.secret] })).digest;
    server = await startFaultServer(join(t.dir, 'good'));
    server.setFault(objectKey(victim), 'endless');
  });
  afterAll(async () => {
    await server.close();
    await t.cleanup();
  });

  it('the fetch cuts it at the signed size even when the backend ignores maxBytes; nothing kept', async () => {
    const asked: Array<number | undefined> = [];
    const stores = [ignoringMaxBytes(openStore(server.url), asked)];
    const state = join(t.dir, `state-${n++}`);
    const err = await fetchClosure({ stores, digest, policy: { trusted: [key.public] }, stateDir: state, objectTimeoutMs: 60_000 }).then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string; data: { stores: Array<{ code: string; message: string }> } },
    );
    expect(err?.code, err?.message).toBe('IntegrityError');
    expect(err?.message).toContain(victim);
    expect(err?.data.stores).toEqual([expect.objectContaining({ code: 'SizeLimitError', message: expect.stringContaining(`${SIZE} bytes the manifest declares`) as string })]);
    // The fetch also asked the backend to cap at the signed size (the layer this wrapper removes).
    expect(asked).toContain(SIZE);
    expect(await readdir(join(state, 'store'))).toEqual([]);
    expect(await readdir(join(state, 'objects', 'tmp'))).toEqual([]);
    const cached = await readdir(join(state, 'objects', 'sha256', victim.slice(7, 9))).catch(() => []);
    expect(cached).not.toContain(victim.slice(7));
  });

  it('the HTTP store\'s stream itself fails with SizeLimitError just past maxBytes', async () => {
    const store = openStore(server.url);
    const stream = await store.get(objectKey(victim), { maxBytes: SIZE });
    let got = 0;
    const err = await (async () => {
      for await (const chunk of stream) {
        got += (chunk as Buffer).length;
        if (got > SAFETY_CAP) throw new Error(`test safety cap: ${got} bytes read and the stream did not stop`);
      }
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(hasCode(err, 'SizeLimitError'), String(err)).toBe(true);
    expect(got).toBeLessThanOrEqual(SIZE);
    await store.close();
  });
});
