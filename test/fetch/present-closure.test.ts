// The no-op's answer from the state dir (src/fetch/present-closure.ts): the same packages, order and
// verdict as a full fetch, and no answer (so the full fetch runs and checks against the stores) for
// anything missing, damaged or refused: a tampered cached manifest, a missing package, a cached signature
// that does not verify, another policy, a closure over the limits. The skeleton read of a cached manifest
// refuses what the walk would build from wrongly.
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchClosure } from '../../src/fetch/fetch-closure.js';
import { readManifestSkeleton } from '../../src/fetch/manifest-skeleton.js';
import { presentClosure } from '../../src/fetch/present-closure.js';
import { objectPath, packagePath, signatureCachePath } from '../../src/generations/layout.js';
import { hashBytes } from '../../src/packages/manifest-codec.js';
import { pushDirectory } from '../../src/publish/push-directory.js';
import type { Digest } from '../../src/store/digest.js';
import { openStore } from '../../src/store/open-store.js';
import type { PublisherPolicy } from '../../src/trust/manifest-policy.js';
import { makeKeyPair, makeTempDir } from '../helpers/package-fixtures.js';

describe('presentClosure', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let storeDir: string;
  let app: Digest;
  let lib: Digest;
  let n = 0;
  const alice = makeKeyPair('alice-1');
  const bob = makeKeyPair('bob-1');
  const policy: PublisherPolicy = { trusted: [alice.public] };

  beforeAll(async () => {
    t = await makeTempDir();
    for (const [name, file] of [['lib', 'lib.so'], ['app', 'app.sh']] as const) {
      await mkdir(join(t.dir, 'src', name, 'sub'), { recursive: true });
      await writeFile(join(t.dir, 'src', name, file), `${name} ${'x'.repeat(5000)}\n`);
      await writeFile(join(t.dir, 'src', name, 'sub', 'data'), `${name} data\n`);
    }
    await chmod(join(t.dir, 'src', 'app', 'app.sh'), 0o755);
    storeDir = join(t.dir, 'store');
    const store = openStore(storeDir);
    lib = (await pushDirectory(store, join(t.dir, 'src', 'lib'), { name: 'lib', signKeys: [alice.secret] })).digest;
    app = (await pushDirectory(store, join(t.dir, 'src', 'app'), { name: 'app', references: [lib], signKeys: [alice.secret] })).digest;
  });
  afterAll(async () => t?.cleanup());

  /** A state dir into which `app` was fetched in full, and that fetch's result. */
  async function warmState(): Promise<{ state: string; full: Awaited<ReturnType<typeof fetchClosure>> }> {
    const state = join(t.dir, `state-${n++}`);
    const full = await fetchClosure({ stores: [openStore(storeDir)], digest: app, policy, stateDir: state });
    return { state, full };
  }

  it('answers with what the full fetch gave: packages root first, paths, verdict, no request', async () => {
    const { state, full } = await warmState();
    const r = await presentClosure({ digest: app, policy, stateDir: state });
    expect(r).toEqual({ packages: full.packages, bytesFetched: 0, objectsFetched: 0, requests: 0, packsFetched: 0, packFallbacks: 0, verdict: { signers: ['alice-1'] } });
    expect(r?.packages.map((p) => p.name)).toEqual(['app', 'lib']);
  });

  it('does not answer for a tampered cached manifest, and removes the bad copy', async () => {
    for (const which of ['root', 'reference'] as const) {
      const { state } = await warmState();
      const d = which === 'root' ? app : lib;
      const path = objectPath(state, d);
      const good = await readFile(path);
      await rm(path);
      await writeFile(path, good.toString('utf8').replace('"name":"', '"name":"x'));
      expect(await presentClosure({ digest: app, policy, stateDir: state }), which).toBeUndefined();
      await expect(readFile(path), which).rejects.toMatchObject({ code: 'ENOENT' });
    }
  });

  it('does not answer when a package of the closure is not materialised, or its manifest is not cached', async () => {
    const a = await warmState();
    await rm(packagePath(a.state, lib, 'lib'), { recursive: true, force: true });
    expect(await presentClosure({ digest: app, policy, stateDir: a.state })).toBeUndefined();
    const b = await warmState();
    await rm(objectPath(b.state, lib));
    expect(await presentClosure({ digest: app, policy, stateDir: b.state })).toBeUndefined();
  });

  it('does not answer when the cached signature does not verify, or the policy wants another key, a higher threshold or the flag', async () => {
    const { state } = await warmState();
    for (const other of [{ trusted: [bob.public] }, { trusted: [alice.public, bob.public], threshold: 2 }, { trusted: [alice.public], requireDeployable: true }] as PublisherPolicy[]) {
      expect(await presentClosure({ digest: app, policy: other, stateDir: state })).toBeUndefined();
    }
    const sig = signatureCachePath(state, app, 'alice-1');
    await rm(sig);
    await writeFile(sig, 'not a signature\n');
    expect(await presentClosure({ digest: app, policy, stateDir: state })).toBeUndefined();
  });

  it('does not answer for a closure over the limits of the run', async () => {
    const { state } = await warmState();
    expect(await presentClosure({ digest: app, policy, stateDir: state, limits: { maxPackages: 1 } })).toBeUndefined();
    expect(await presentClosure({ digest: app, policy, stateDir: state, limits: { maxClosureBytes: 5000 } })).toBeUndefined();
    expect(await presentClosure({ digest: app, policy, stateDir: state, limits: { maxClosureBytes: 100_000 } })).toBeDefined();
  });
});

describe('readManifestSkeleton', () => {
  const ref = hashBytes(Buffer.from('x'));
  const manifest = (over: Record<string, unknown>): Buffer => {
    const m = { entries: [{ type: 'dir', path: 'd' }, { type: 'file', path: 'd/f', size: 7, digest: ref, executable: false }, { type: 'symlink', path: 'l', target: 'd' }], format: 1, name: 'ok', provenance: {}, references: [ref], ...over };
    return Buffer.from(JSON.stringify(m));
  };

  it('reads the name, the references and the bytes of the files', () => {
    const bytes = manifest({});
    expect(readManifestSkeleton(bytes, hashBytes(bytes))).toEqual({ name: 'ok', references: [ref], fileBytes: 7 });
  });

  it.each([
    ['not JSON', Buffer.from('{"entries":')],
    ['another format', manifest({ format: 2 })],
    ['a name that is not a string', manifest({ name: 7 })],
    ['a reference that is not a sha256 digest', manifest({ references: ['sha512:00'] })],
    ['entries that are not an array', manifest({ entries: {} })],
    ['an entry of another type', manifest({ entries: [{ type: 'fifo', path: 'p' }] })],
    ['a file size that is negative', manifest({ entries: [{ type: 'file', path: 'f', size: -1, digest: ref, executable: false }] })],
    ['a file size that is not an integer', manifest({ entries: [{ type: 'file', path: 'f', size: '7', digest: ref, executable: false }] })],
  ])('refuses %s', (_what, bytes) => {
    expect(() => readManifestSkeleton(bytes, hashBytes(bytes))).toThrow(expect.objectContaining({ code: 'ManifestError' }) as Error);
  });
});
