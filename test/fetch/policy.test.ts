import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchClosure } from '../../src/fetch/fetch-closure.js';
import { signatureCachePath } from '../../src/generations/layout.js';
import { pushDirectory } from '../../src/publish/push-directory.js';
import type { Digest } from '../../src/store/digest.js';
import { deployableFlagKey, signatureKey } from '../../src/store/keys.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import type { PublisherPolicy } from '../../src/trust/manifest-policy.js';
import { promoteManifest } from '../../src/trust/manifest-publish.js';
import { signManifest } from '../../src/trust/manifest-signature.js';
import { parsePublicKey, formatPublicKey } from '../../src/trust/publisher-key.js';
import { makeKeyPair, makeTempDir } from '../helpers/package-fixtures.js';
import { generateTree } from '../helpers/tree-gen.js';

describe('signature policy is checked before any file object is fetched', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let store: Store;
  let src: string;
  let n = 0;
  const alice = makeKeyPair('alice-1');
  const bob = makeKeyPair('bob-1');
  const mallory = makeKeyPair('mallory-1');
  const promoter = makeKeyPair('release-1');
  beforeAll(async () => {
    t = await makeTempDir();
    store = openStore(join(t.dir, 'store'));
    src = join(t.dir, 'src');
    await mkdir(src);
    await generateTree(src, { seed: 3, files: 10, minSize: 3000, maxSize: 20_000 });
  });
  afterAll(async () => t.cleanup());

  /** Pushes the tree under a fresh name (so each case has its own digest and signatures). */
  async function push(signers: Array<ReturnType<typeof makeKeyPair>>): Promise<{ digest: Digest; size: number }> {
    const r = await pushDirectory(store, src, { name: `pkg${n++}`, signKeys: signers.map((k) => k.secret) });
    return { digest: r.digest, size: r.manifestBytes };
  }

  async function attempt(digest: Digest, policy: PublisherPolicy): Promise<{ code?: string; message?: string; objects: string[] }> {
    const state = join(t.dir, `state-${n++}`);
    try {
      await fetchClosure({ stores: [store], digest, policy, stateDir: state });
      return { objects: await readdir(join(state, 'objects', 'sha256')) };
    } catch (err) {
      const e = err as { code: string; message: string };
      const objects = await readdir(join(state, 'objects')).catch(() => []);
      return { code: e.code, message: e.message, objects };
    }
  }

  const refusedBeforeFetch = (r: { code?: string; objects: string[] }, code: string): void => {
    expect(r.code).toBe(code);
    expect(r.objects.filter((o) => o !== 'tmp')).toEqual([]);
  };

  it('refuses an unsigned manifest', async () => {
    const { digest } = await push([]);
    refusedBeforeFetch(await attempt(digest, { trusted: [alice.public] }), 'SignatureError');
  });

  it('refuses a manifest signed only by an unknown key, even under a trusted name', async () => {
    const { digest, size } = await push([mallory]);
    await store.put(signatureKey(digest, 'alice-1'), signManifest(mallory.secret, digest, size));
    refusedBeforeFetch(await attempt(digest, { trusted: [alice.public] }), 'SignatureError');
  });

  it('refuses a signature over a different size', async () => {
    const { digest, size } = await push([]);
    await store.put(signatureKey(digest, 'alice-1'), signManifest(alice.secret, digest, size + 1));
    refusedBeforeFetch(await attempt(digest, { trusted: [alice.public] }), 'SignatureError');
  });

  it('counts the same key twice (under two names) once toward the threshold', async () => {
    const { digest, size } = await push([alice]);
    await store.put(signatureKey(digest, 'alice-2'), signManifest(alice.secret, digest, size));
    const alias = parsePublicKey(formatPublicKey(alice.public).replace('alice-1:', 'alice-2:'));
    refusedBeforeFetch(await attempt(digest, { trusted: [alice.public, alias], threshold: 2 }), 'SignatureError');
  });

  it('refuses when no key is trusted at all (verification is never off)', async () => {
    const { digest } = await push([alice]);
    refusedBeforeFetch(await attempt(digest, { trusted: [] }), 'SignatureError');
  });

  it('accepts threshold 2 met by two keys plus a garbage signature', async () => {
    const { digest } = await push([alice, bob]);
    await store.put(signatureKey(digest, 'mallory-1'), Buffer.from('garbage!'));
    const r = await attempt(digest, { trusted: [alice.public, mallory.public, bob.public], threshold: 2 });
    expect(r.code).toBeUndefined();
  });

  it('accepts threshold 1 when a trusted key has a garbage signature and another a good one', async () => {
    const { digest } = await push([bob]);
    await store.put(signatureKey(digest, 'alice-1'), Buffer.from('A'.repeat(88)));
    expect((await attempt(digest, { trusted: [alice.public, bob.public] })).code).toBeUndefined();
  });

  it('requires a deployable flag signed by a promoter when asked; honours revocation', async () => {
    const { digest } = await push([alice]);
    const policy: PublisherPolicy = { trusted: [alice.public], requireDeployable: true, promoters: [promoter.public] };
    refusedBeforeFetch(await attempt(digest, policy), 'PolicyError');
    await promoteManifest(store, digest, alice.secret);
    refusedBeforeFetch(await attempt(digest, policy), 'PolicyError');
    await promoteManifest(store, digest, promoter.secret);
    expect((await attempt(digest, policy)).code).toBeUndefined();
    await promoteManifest(store, digest, promoter.secret, { revoke: true });
    const revoked = await attempt(digest, policy);
    refusedBeforeFetch(revoked, 'PolicyError');
    expect(revoked.message).toContain('revoked');
    await store.put(deployableFlagKey(digest), Buffer.from('{"state":"promoted"}'));
    refusedBeforeFetch(await attempt(digest, policy), 'PolicyError');
  });

  it('re-checks a cached root whose signature the cache lacks, and asks the store for nothing else until the policy holds', async () => {
    const lib = await pushDirectory(store, src, { name: `lib${n++}` });
    const root = (await pushDirectory(store, src, { name: `app${n++}`, references: [lib.digest], signKeys: [alice.secret] })).digest;
    const state = join(t.dir, `state-${n++}`);
    const policy: PublisherPolicy = { trusted: [alice.public] };
    await fetchClosure({ stores: [store], digest: root, policy, stateDir: state });
    // The library's manifest leaves the cache, and the root's signature leaves the store and the cache (a
    // cached signature that verifies would answer the policy without the store: noop-no-request.test.ts).
    const libHex = lib.digest.slice(7);
    await rm(join(state, 'objects', 'sha256', libHex.slice(0, 2), libHex));
    await rm(signatureCachePath(state, root, 'alice-1'));
    await rm(join(state, 'store'), { recursive: true, force: true });
    const asked: string[] = [];
    const recording: Store = { ...store, getBytes: (key, o) => (asked.push(key), store.getBytes(key, o)), get: (key, o) => (asked.push(key), store.get(key, o)) };
    const sig = await store.getBytes(signatureKey(root, 'alice-1'), { maxBytes: 1024 });
    await store.delete(signatureKey(root, 'alice-1'));
    await expect(fetchClosure({ stores: [recording], digest: root, policy, stateDir: state })).rejects.toMatchObject({ code: 'SignatureError' });
    expect(asked).toEqual([signatureKey(root, 'alice-1')]);
    // Signed again: the same fetch reads the library's manifest from the store and materialises both.
    await store.put(signatureKey(root, 'alice-1'), sig);
    asked.length = 0;
    const ok = await fetchClosure({ stores: [recording], digest: root, policy, stateDir: state });
    expect(ok.packages.map((p) => p.digest)).toEqual([root, lib.digest]);
    expect(asked.slice(0, 2)).toEqual([signatureKey(root, 'alice-1'), `objects/sha256/${libHex.slice(0, 2)}/${libHex}`]);
  });
});

