// A no-op fetch, as Nix's: when every package of the closure is materialised and the cache holds its
// manifests and root signatures, the policy is checked against the cached signatures and the store (a real
// HTTP store server counting what it serves) is asked nothing. Cached signatures are re-verified under each
// run's policy: a damaged one, one by another key, or a policy it does not meet sends the fetch to the store.
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchClosure } from '../../src/fetch/fetch-closure.js';
import { signatureCachePath } from '../../src/generations/layout.js';
import { pushDirectory } from '../../src/publish/push-directory.js';
import type { Digest } from '../../src/store/digest.js';
import { signatureKey } from '../../src/store/keys.js';
import { openStore } from '../../src/store/open-store.js';
import type { PublisherPolicy } from '../../src/trust/manifest-policy.js';
import { promoteManifest } from '../../src/trust/manifest-publish.js';
import { signManifest } from '../../src/trust/manifest-signature.js';
import { formatPublicKey } from '../../src/trust/publisher-key.js';
import { CLI } from '../helpers/cli-bin.js';
import { startHttpStoreServer, type HttpStoreServer } from '../helpers/http-store-server.js';
import { makeKeyPair, makeTempDir } from '../helpers/package-fixtures.js';

const run = promisify(execFile);

describe('a no-op fetch asks the store nothing', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let storeDir: string;
  let http: HttpStoreServer;
  let app: Digest;
  let appSize: number;
  let n = 0;
  const alice = makeKeyPair('alice-1');
  const bob = makeKeyPair('bob-1');
  const mallory = makeKeyPair('mallory-1');

  beforeAll(async () => {
    t = await makeTempDir();
    for (const [name, file] of [['lib', 'lib.so'], ['app', 'app.sh']] as const) {
      await mkdir(join(t.dir, 'src', name), { recursive: true });
      await writeFile(join(t.dir, 'src', name, file), `${name} ${'x'.repeat(5000)}\n`);
    }
    await chmod(join(t.dir, 'src', 'app', 'app.sh'), 0o755);
    storeDir = join(t.dir, 'store');
    const store = openStore(storeDir);
    const lib = (await pushDirectory(store, join(t.dir, 'src', 'lib'), { name: 'lib', signKeys: [alice.secret] })).digest;
    const pushed = await pushDirectory(store, join(t.dir, 'src', 'app'), { name: 'app', references: [lib], signKeys: [alice.secret] });
    app = pushed.digest;
    appSize = pushed.manifestBytes;
    http = await startHttpStoreServer(storeDir);
  });
  afterAll(async () => {
    await http.close();
    await t.cleanup();
  });

  /** One fetch of `app` over HTTP into `state`: its result (or error) and the requests the server saw. */
  async function fetchOnce(state: string, policy: PublisherPolicy): Promise<{ served: number; requests?: number; signers?: string[]; code?: string; message?: string }> {
    const before = http.requests();
    try {
      const r = await fetchClosure({ stores: [openStore(http.url)], digest: app, policy, stateDir: state });
      return { served: http.requests() - before, requests: r.requests, signers: r.verdict?.signers ?? [] };
    } catch (err) {
      const e = err as { code: string; message: string };
      return { served: http.requests() - before, code: e.code, message: e.message };
    }
  }

  /** A state dir into which `app` was fetched once under alice's policy (which cached her signature). */
  async function warmState(): Promise<string> {
    const state = join(t.dir, `state-${n++}`);
    const cold = await fetchOnce(state, { trusted: [alice.public] });
    expect(cold.code, cold.message).toBeUndefined();
    expect(cold.served).toBeGreaterThan(0);
    return state;
  }

  it('the second fetch of a closure makes no request, and says so', async () => {
    const state = await warmState();
    const noop = await fetchOnce(state, { trusted: [alice.public] });
    expect(noop).toEqual({ served: 0, requests: 0, signers: ['alice-1'] });
  });

  it('a cached signature that does not verify is not accepted: the store is read and the copy replaced', async () => {
    for (const damage of ['garbage', 'other key', 'other size'] as const) {
      const state = await warmState();
      const path = signatureCachePath(state, app, 'alice-1');
      const good = await readFile(path);
      const bad = damage === 'garbage' ? Buffer.from('not a signature\n') : damage === 'other key' ? signManifest(mallory.secret, app, appSize) : signManifest(alice.secret, app, appSize + 1);
      await rm(path);
      await writeFile(path, bad);
      const r = await fetchOnce(state, { trusted: [alice.public] });
      expect(r.code, `${damage}: ${r.message}`).toBeUndefined();
      expect(r.served, damage).toBeGreaterThan(0);
      expect((await readFile(path)).equals(good), damage).toBe(true);
      expect((await fetchOnce(state, { trusted: [alice.public] })).served, damage).toBe(0);
    }
  });

  it('a policy the cached signatures do not meet reads the store: another key is refused there, clearly', async () => {
    const state = await warmState();
    const r = await fetchOnce(state, { trusted: [bob.public] });
    expect(r.code).toBe('SignatureError');
    expect(r.message).toContain(app);
    expect(r.served).toBeGreaterThan(0);
  });

  it('a higher threshold than the cache meets reads the store, and is met there', async () => {
    const state = await warmState();
    await openStore(storeDir).put(signatureKey(app, 'bob-1'), signManifest(bob.secret, app, appSize));
    try {
      const both: PublisherPolicy = { trusted: [alice.public, bob.public], threshold: 2 };
      const r = await fetchOnce(state, both);
      expect(r.code, r.message).toBeUndefined();
      expect(r.served).toBeGreaterThan(0);
      expect(r.signers).toEqual(['alice-1', 'bob-1']);
      expect(await fetchOnce(state, both)).toEqual({ served: 0, requests: 0, signers: ['alice-1', 'bob-1'] });
    } finally {
      await openStore(storeDir).delete(signatureKey(app, 'bob-1'));
    }
  });

  it('the deployable flag is read from the store every time (it can be revoked), and only the flag', async () => {
    const state = await warmState();
    const store = openStore(storeDir);
    await promoteManifest(store, app, alice.secret);
    const policy: PublisherPolicy = { trusted: [alice.public], requireDeployable: true };
    const r = await fetchOnce(state, policy);
    expect(r.code, r.message).toBeUndefined();
    expect(r.served).toBe(1);
    await promoteManifest(store, app, alice.secret, { revoke: true });
    const revoked = await fetchOnce(state, policy);
    expect(revoked.code).toBe('PolicyError');
    expect(revoked.served).toBe(1);
  });

  it('the CLI no-op over HTTP reports "requests":0 and the server saw none', async () => {
    const state = await warmState();
    const before = http.requests();
    const { stdout } = await run(process.execPath, [CLI, 'fetch', app, '--store', http.url, '--trust', formatPublicKey(alice.public), '--state', state, '--json']);
    const out = JSON.parse(stdout) as { ok: boolean; data: { requests: number } };
    expect(out.ok).toBe(true);
    expect(out.data.requests).toBe(0);
    expect(http.requests() - before).toBe(0);
  });
});
