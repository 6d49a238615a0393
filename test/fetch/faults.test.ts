import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchClosure } from '../../src/fetch/fetch-closure.js';
import { pushDirectory } from '../../src/publish/push-directory.js';
import type { Digest } from '../../src/store/digest.js';
import { objectKey } from '../../src/store/keys.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { sha } from '../helpers/craft-manifest.js';
import { startFaultServer, type Fault, type FaultServer } from '../helpers/fault-server.js';
import { makeKeyPair, makeTempDir } from '../helpers/package-fixtures.js';

describe('network faults on an HTTP mirror: deadlines, caps, next mirror', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let server: FaultServer;
  let flaky: Store;
  let good: Store;
  let digest: Digest;
  let victim: Digest;
  const key = makeKeyPair('net-1');
  let n = 0;
  beforeAll(async () => {
    t = await makeTempDir();
    const src = join(t.dir, 'src');
    await mkdir(src);
    const body = Buffer.alloc(200_000, 3);
    await writeFile(join(src, 'victim.bin'), body);
    await writeFile(join(src, 'fine.bin'), Buffer.alloc(9_000, 4));
    victim = sha(body);
    good = openStore(join(t.dir, 'good'));
    digest = (await pushDirectory(good, src, { name: 'app', signKeys: [key.secret] })).digest;
    server = await startFaultServer(join(t.dir, 'good'));
    flaky = openStore(server.url);
  });
  afterAll(async () => {
    await server.close();
    await t.cleanup();
  });

  const ROWS: Array<{ fault: Fault; code: string }> = [
    { fault: 'trickle', code: 'TransportError' },
    { fault: 'reset', code: 'TransportError' },
    { fault: 'status-503', code: 'TransportError' },
    { fault: 'endless', code: 'IntegrityError' },
  ];

  // The per-object path (`packs: false`: the pack would carry the victim intact); packs.test.ts breaks packs.
  it.each(ROWS)('$fault → $code naming the object, nothing kept; with a good mirror behind → success', async ({ fault, code }) => {
    server.setFault(objectKey(victim), fault);
    const state = join(t.dir, `state-${n++}`);
    const err = await fetchClosure({ stores: [flaky], digest, policy: { trusted: [key.public] }, stateDir: state, objectTimeoutMs: 2000, packs: false }).then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string },
    );
    expect(err?.code, err?.message).toBe(code);
    expect(err?.message).toContain(victim);
    expect(await readdir(join(state, 'store'))).toEqual([]);
    expect(await readdir(join(state, 'objects', 'tmp'))).toEqual([]);
    const ok = await fetchClosure({ stores: [flaky, good], digest, policy: { trusted: [key.public] }, stateDir: state, objectTimeoutMs: 2000, packs: false });
    expect(ok.packages).toHaveLength(1);
    server.setFault(objectKey(victim), 'none');
  });
});
