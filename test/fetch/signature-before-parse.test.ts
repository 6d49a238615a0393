// A manifest is attacker-controlled bytes until a trusted key has signed them: nothing of it may be parsed
// first. So a malformed manifest that nobody signed is refused as a signature failure (SignatureError), never
// as a parse failure (ManifestError) — the control row signs the same bytes and sees the parser's ManifestError,
// which proves each body really is malformed.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchClosure } from '../../src/fetch/fetch-closure.js';
import { objectKey, signatureKey } from '../../src/store/keys.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { signManifest } from '../../src/trust/manifest-signature.js';
import { sha } from '../helpers/craft-manifest.js';
import { runCli } from '../helpers/deploy-world.js';
import { makeKeyPair, makeTempDir } from '../helpers/package-fixtures.js';
import { formatPublicKey } from '../../src/trust/publisher-key.js';

const ROWS: Array<{ name: string; body: Buffer }> = [
  { name: 'not JSON', body: Buffer.from('{"format":1,"name":') },
  { name: 'not canonical JSON', body: Buffer.from('{ "format": 1, "name": "x", "entries": [], "references": [], "provenance": {} }') },
  { name: 'an unknown format', body: Buffer.from('{"entries":[],"format":99,"name":"x","provenance":{},"references":[]}') },
  { name: 'an escaping path', body: Buffer.from(`{"entries":[{"digest":"${sha('x')}","executable":false,"path":"../../etc/passwd","size":1,"type":"file"}],"format":1,"name":"x","provenance":{},"references":[]}`) },
  { name: 'binary garbage', body: Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x22, 0x80]) },
];

describe('signature before parse: malformed manifests that nobody signed', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let store: Store;
  let storeDir: string;
  let n = 0;
  const trusted = makeKeyPair('release-1');
  const stranger = makeKeyPair('release-1'); // the trusted key's name, another key

  beforeAll(async () => {
    t = await makeTempDir();
    storeDir = join(t.dir, 'store');
    store = openStore(storeDir);
  });
  afterAll(async () => t.cleanup());

  async function attempt(body: Buffer, signer?: ReturnType<typeof makeKeyPair>): Promise<{ code: string; message: string; state: string }> {
    const digest = sha(body);
    await store.put(objectKey(digest), body);
    await store.delete(signatureKey(digest, 'release-1'));
    if (signer) await store.put(signatureKey(digest, 'release-1'), signManifest(signer.secret, digest, body.length));
    const state = join(t.dir, `state-${n++}`);
    const err = await fetchClosure({ stores: [store], digest, policy: { trusted: [trusted.public] }, stateDir: state }).then(
      () => ({ code: 'none', message: 'fetched' }),
      (e: unknown) => e as { code: string; message: string },
    );
    return { code: err.code, message: err.message, state };
  }

  it.each(ROWS)('$name, unsigned → SignatureError; signed by an untrusted key → SignatureError; nothing kept', async ({ body }) => {
    for (const signer of [undefined, stranger]) {
      const r = await attempt(body, signer);
      expect(r.code, r.message).toBe('SignatureError');
      expect(await readdir(join(r.state, 'store'))).toEqual([]);
      expect((await readdir(join(r.state, 'objects'))).filter((e) => e !== 'tmp')).toEqual([]);
    }
  });

  it.each(ROWS)('control: $name, signed by the trusted key → the parser refuses it (ManifestError)', async ({ body }) => {
    const r = await attempt(body, trusted);
    expect(r.code, r.message).toBe('ManifestError');
  });

  it('through the CLI: `flotilla fetch` of a malformed unsigned manifest fails on its signature', async () => {
    const body = ROWS[0]!.body;
    const digest = sha(body);
    await store.put(objectKey(digest), body);
    await store.delete(signatureKey(digest, 'release-1'));
    const r = await runCli(['fetch', digest, '--store', storeDir, '--trust', formatPublicKey(trusted.public), '--state', join(t.dir, 'cli-state'), '--json']);
    expect(r.code).not.toBe(0);
    expect(r.stderr + r.stdout).toContain('SignatureError');
    expect(r.stderr + r.stdout).not.toContain('ManifestError');
  });
});
