import { execFile } from 'node:child_process';
import { chmod, lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSignedClosure } from '../../bench/lib/bare-signed-closure.js';
import { coldFetchPlan } from '../../bench/lib/fetch-floors.js';
import { pushDirectory } from '../../src/publish/push-directory.js';
import { keyPath } from '../../src/store/key-path.js';
import { objectKey } from '../../src/store/keys.js';
import { openStore } from '../../src/store/open-store.js';
import { formatPublicKey } from '../../src/trust/publisher-key.js';
import { signManifest } from '../../src/trust/manifest-signature.js';
import { hashBytes } from '../../src/packages/manifest-codec.js';
import { signatureKey } from '../../src/store/keys.js';
import type { Digest } from '../../src/store/digest.js';
import { startHttpStoreServer, type HttpStoreServer } from '../helpers/http-store-server.js';
import { makeKeyPair, makeTempDir } from '../helpers/package-fixtures.js';
import { generateTree } from '../helpers/tree-gen.js';

// The fetch benchmark's signed floor is only a floor of a verifying fetch if it refuses what a verifying
// fetch refuses before its first object GET: a root without a valid signature by the trusted key, and a
// manifest whose bytes are not the ones its digest names; and it must reach the whole closure.

const exec = promisify(execFile);
const BARE_FETCH = resolve('dist/bench/lib/bare-fetch.js');

describe('bench floor: the signed closure read before the GETs', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let srv: HttpStoreServer;
  let storeDir: string;
  let app: Digest;
  let lib: Digest;
  let trusted: string;
  let key: ReturnType<typeof makeKeyPair>;

  /** Puts `text` in the store as a manifest signed by the trusted key, as a publisher would: its digest. */
  async function putSigned(text: string): Promise<Digest> {
    const bytes = Buffer.from(text, 'utf8');
    const digest = hashBytes(bytes);
    for (const [k, data] of [[objectKey(digest), bytes], [signatureKey(digest, 'ci-1'), signManifest(key.secret, digest, bytes.length)]] as const) {
      await mkdir(join(keyPath(storeDir, k), '..'), { recursive: true });
      await writeFile(keyPath(storeDir, k), data);
    }
    return digest;
  }

  beforeAll(async () => {
    t = await makeTempDir();
    storeDir = join(t.dir, 'store');
    const store = openStore(storeDir);
    key = makeKeyPair('ci-1');
    trusted = formatPublicKey(key.public);
    for (const name of ['lib', 'app']) {
      await mkdir(join(t.dir, name));
      await generateTree(join(t.dir, name), { seed: name.length, files: 12, minSize: 2000, maxSize: 100_000, dirs: 2, symlinks: 1, executableRatio: 0.2 });
    }
    lib = (await pushDirectory(store, join(t.dir, 'lib'), { name: 'lib', signKeys: [key.secret] })).digest;
    app = (await pushDirectory(store, join(t.dir, 'app'), { name: 'app', references: [lib], signKeys: [key.secret] })).digest;
    srv = await startHttpStoreServer(storeDir);
  });
  afterAll(async () => {
    await srv.close();
    await t.cleanup();
  });

  it('reads and authenticates every manifest of the closure', async () => {
    const sizes = await Promise.all([app, lib].map(async (d) => (await readFile(keyPath(storeDir, objectKey(d)))).length));
    expect(await readSignedClosure(new URL(srv.url), { root: app, key: trusted })).toEqual({ manifests: 2, bytes: sizes.reduce((a, b) => a + b, 0) });
  });

  it('refuses a root signed by another key of the same name', async () => {
    const other = formatPublicKey(makeKeyPair('ci-1').public);
    await expect(readSignedClosure(new URL(srv.url), { root: app, key: other })).rejects.toThrow(`root ${app}: no valid signature by ci-1`);
  });

  it('refuses a key not written as name:base64 of 32 bytes, and a root with no signature by that key name', async () => {
    await expect(readSignedClosure(new URL(srv.url), { root: app, key: 'ci-1' })).rejects.toThrow('key "ci-1": want name:base64 of 32 bytes');
    const other = formatPublicKey(makeKeyPair('ci-2').public);
    await expect(readSignedClosure(new URL(srv.url), { root: app, key: other })).rejects.toThrow(/GET signatures\/sha256\/[0-9a-f]{64}\/ci-2: HTTP\/1.1 404/);
  });

  it('refuses a signed manifest with no references list, and one whose reference is not a sha256 digest', async () => {
    const bare = await putSigned('{"entries":[]}');
    await expect(readSignedClosure(new URL(srv.url), { root: bare, key: trusted })).rejects.toThrow(`manifest ${bare}: no references list`);
    const odd = await putSigned('{"references":["md5:00"]}');
    await expect(readSignedClosure(new URL(srv.url), { root: odd, key: trusted })).rejects.toThrow(`a reference of ${odd}: not a sha256 digest: "md5:00"`);
  });

  it('with `signed`, writes the tree only after the closure held, and nothing when it does not', async () => {
    const plan = await coldFetchPlan(srv.url, app);
    const good = join(t.dir, 'plan-signed.json');
    await writeFile(good, JSON.stringify({ base: srv.url, ...plan, signed: { root: app, key: trusted } }));
    const { stdout } = await exec(process.execPath, [BARE_FETCH, good, join(t.dir, 'out-signed'), '1', 'tree', '-', 'signed']);
    expect(JSON.parse(stdout)).toMatchObject({ files: expect.any(Number) as number });
    expect((await lstat(join(t.dir, 'out-signed', '1'))).isDirectory()).toBe(true);

    const bad = join(t.dir, 'plan-bad-key.json');
    await writeFile(bad, JSON.stringify({ base: srv.url, ...plan, signed: { root: app, key: formatPublicKey(makeKeyPair('ci-1').public) } }));
    const out = join(t.dir, 'out-bad-key');
    await expect(exec(process.execPath, [BARE_FETCH, bad, out, '1', 'tree', '-', 'signed'])).rejects.toThrow(/no valid signature by ci-1/);
    await expect(lstat(out)).rejects.toMatchObject({ code: 'ENOENT' });

    const unsigned = join(t.dir, 'plan-unsigned.json');
    await writeFile(unsigned, JSON.stringify({ base: srv.url, ...plan }));
    await expect(exec(process.execPath, [BARE_FETCH, unsigned, out, '1', 'tree', '-', 'signed'])).rejects.toThrow(/plan-unsigned\.json has no signed closure/);
    await expect(exec(process.execPath, [BARE_FETCH, good, out, '1', 'tree', '-', 'verified'])).rejects.toThrow(/the sixth argument is signed, not verified/);
    await expect(lstat(out)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  // Last: it damages the store.
  it('refuses a referenced manifest whose bytes are not its digest', async () => {
    const path = keyPath(storeDir, objectKey(lib));
    const bytes = await readFile(path);
    await chmod(path, 0o644);
    await writeFile(path, Buffer.from(bytes.toString('utf8').replace('"lib"', '"bil"')));
    await expect(readSignedClosure(new URL(srv.url), { root: app, key: trusted })).rejects.toThrow(`manifest ${lib}: its bytes hash to something else`);
  });
});
