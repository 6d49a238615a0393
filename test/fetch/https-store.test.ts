// Stores over HTTPS, as most are in production (an Artifactory, a Nix cache behind nginx): a Flotilla store
// and a Nix binary cache served by the project's static server with TLS, its certificate signed by a
// private CA made with the real openssl. The built CLI fetches from each when Node is given that CA
// (NODE_EXTRA_CA_CERTS: read at process start by `node dist/bin/flotilla.js`, at the first TLS connection
// through the package's bin, the launcher), and without it stops at the first request with an error that
// says what to do, having placed nothing.
import { execFile } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransportError } from '../../src/errors/index.js';
import { pushDirectory } from '../../src/publish/push-directory.js';
import { openStore } from '../../src/store/open-store.js';
import { formatPublicKey } from '../../src/trust/publisher-key.js';
import { makeScratch, type Scratch } from '../../scripts/world/tools.js';
import { CLI, LAUNCHER } from '../helpers/cli-bin.js';
import { dataOf, errorOf } from '../helpers/cli-json.js';
import { startHttpStoreServer, type HttpStoreServer } from '../helpers/http-store-server.js';
import { buildNixClosure, publishNixCache, type NixClosureFixture } from '../helpers/nix-closure.js';
import { makeKeyPair } from '../helpers/package-fixtures.js';
import { makeTlsFixture, type TlsFixture } from '../helpers/tls-cert.js';
import { describeTree, generateTree } from '../helpers/tree-gen.js';

const run = promisify(execFile);

let scratch: Scratch;
let tls: TlsFixture;
let flotillaServer: HttpStoreServer;
let nixServer: HttpStoreServer;
let nix: NixClosureFixture;
let digest: string;
const key = makeKeyPair('tls-1');
let n = 0;

beforeAll(async () => {
  scratch = await makeScratch('https-store');
  tls = await makeTlsFixture(scratch.path);
  const src = join(scratch.path, 'src');
  await mkdir(src);
  await generateTree(src, { seed: 11, files: 30, minSize: 100, maxSize: 100_000, symlinks: 2, executableRatio: 0.2 });
  const storeDir = join(scratch.path, 'store');
  digest = (await pushDirectory(openStore(storeDir), src, { name: 'app', signKeys: [key.secret] })).digest;
  flotillaServer = await startHttpStoreServer(storeDir, { tls });
  // A salt of its own per run: the host's Nix keeps every signature a run adds to a store path, and a
  // path signed by more than 64 keys is refused (MAX_SIGS in src/nix/narinfo.ts), so a fixed salt failed after 64 runs here.
  nix = await buildNixClosure(scratch.path, [{ name: 'tls-lib' }], `tls${Date.now()}`);
  const cacheDir = join(scratch.path, 'nix-cache');
  await publishNixCache(nix, cacheDir, 'zstd');
  nixServer = await startHttpStoreServer(cacheDir, { tls });
}, 180_000);
afterAll(async () => {
  await flotillaServer?.close();
  await nixServer?.close();
  await scratch?.cleanup();
});

/** How the CLI is started: Node on the bundle (Node reads NODE_EXTRA_CA_CERTS at start), or the package's bin. */
type Via = 'node' | 'launcher';

/**
 * `flotilla ARGS --json` as a process, with the private CA (or `caFile`) given to Node or not, started
 * `via` Node itself or the launcher (which defers the CA file to the first TLS connection); never throws.
 */
async function cli(args: string[], trustCa: boolean, via: Via = 'node', caFile = tls.caFile): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}` };
  delete env['NODE_EXTRA_CA_CERTS'];
  if (trustCa) env['NODE_EXTRA_CA_CERTS'] = caFile;
  try {
    const { stdout, stderr } = via === 'node' ? await run(process.execPath, [CLI, ...args, '--json'], { env }) : await run(LAUNCHER, [...args, '--json'], { env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe.each<{ via: Via }>([{ via: 'node' }, { via: 'launcher' }])('HTTPS stores with a private CA (started via $via)', ({ via }) => {
  it('a Flotilla store over https: fetched when Node trusts the CA, refused with what to do when not', async () => {
    const trusted = formatPublicKey(key.public);
    const refusedState = join(scratch.path, `state-${n++}`);
    const refused = await cli(['fetch', digest, '--store', flotillaServer.url, '--trust', trusted, '--state', refusedState], false, via);
    expect(refused.code).not.toBe(0);
    const err = errorOf(refused.stdout);
    expect(err.code).toBe('TransportError');
    expect(err.message).toContain(flotillaServer.url);
    expect(err.message).toMatch(/does not chain to a trusted CA \((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\).*NODE_EXTRA_CA_CERTS/);
    expect(await readdir(join(refusedState, 'store')).catch(() => [])).toEqual([]);

    // Trusted CA, wrong name: the certificate is for 127.0.0.1, not localhost.
    const byName = flotillaServer.url.replace('127.0.0.1', 'localhost');
    const misnamed = await cli(['fetch', digest, '--store', byName, '--trust', trusted, '--state', join(scratch.path, `state-${n++}`)], true, via);
    expect(errorOf(misnamed.stdout).message).toMatch(/certificate is refused \(ERR_TLS_CERT_ALTNAME_INVALID: .*\); the server must present a valid certificate for this host/);

    const state = join(scratch.path, `state-${n++}`);
    const ok = await cli(['fetch', digest, '--store', flotillaServer.url, '--trust', trusted, '--state', state], true, via);
    expect(ok.code).toBe(0);
    const got = dataOf<{ packages: Array<{ path: string }> }>(ok.stdout);
    const tree = await describeTree(got.packages[0]?.path ?? join(state, 'missing'));
    expect([...tree.keys()]).toEqual([...(await describeTree(join(scratch.path, 'src'))).keys()]);
  });

  it('a Nix binary cache over nix+https: the closure placed when Node trusts the CA, nothing placed when not', async () => {
    const store = `nix+${nixServer.url}`;
    const refusedRoot = join(scratch.path, `root-${n++}`);
    const refused = await cli(['fetch', nix.top, '--store', store, '--trust', nix.publicKey, '--root', refusedRoot, '--register', 'never'], false, via);
    expect(refused.code).not.toBe(0);
    expect(errorOf(refused.stdout).message).toMatch(/nix-cache-info in https:\/\/127\.0\.0\.1:\d+\/: the server's TLS certificate does not chain to a trusted CA .*NODE_EXTRA_CA_CERTS/);
    expect(await readdir(join(refusedRoot, 'nix/store')).catch(() => [])).toEqual([]);

    const root = join(scratch.path, `root-${n++}`);
    const ok = await cli(['fetch', nix.top, '--store', store, '--trust', nix.publicKey, '--root', root, '--register', 'never'], true, via);
    expect(ok.code).toBe(0);
    expect(dataOf<{ fetched: string[] }>(ok.stdout).fetched.sort()).toEqual([...nix.paths].sort());
    const placed = await readdir(join(root, 'nix/store'));
    for (const p of nix.paths) expect(placed).toContain(p.slice('/nix/store/'.length));
  });
});

describe('the launcher defers NODE_EXTRA_CA_CERTS to the first TLS connection', () => {
  // Node warns at start about an extra CA file it cannot load: a warning then shows when it was read.
  const missing = (): string => join(scratch.path, 'no-such-ca.pem');
  it('a run that makes no TLS connection never reads it; Node itself reads it at start', async () => {
    const launched = await cli(['--version'], true, 'launcher', missing());
    expect(launched.code).toBe(0);
    expect(launched.stderr).not.toContain('no-such-ca.pem');
    const direct = await cli(['--version'], true, 'node', missing());
    expect(direct.stderr).toMatch(/Ignoring extra certs from `[^`]*no-such-ca\.pem`, load failed/);
  });

  it('with --use-openssl-ca in NODE_OPTIONS the launcher leaves it to Node (the deferred trust adds to Node\'s own roots)', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}`, NODE_OPTIONS: '--use-openssl-ca', NODE_EXTRA_CA_CERTS: missing() };
    const { stderr } = await run(LAUNCHER, ['--version'], { env });
    expect(stderr).toMatch(/Ignoring extra certs from `[^`]*no-such-ca\.pem`, load failed/);
  });

  it('a run over https reads it at its first connection, with the warning Node gives, and trusts nothing more', async () => {
    const r = await cli(['fetch', digest, '--store', flotillaServer.url, '--trust', formatPublicKey(key.public), '--state', join(scratch.path, `state-${n++}`)], true, 'launcher', missing());
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Ignoring extra certs from `[^`]*no-such-ca\.pem`, load failed/);
    expect(errorOf(r.stdout).message).toMatch(/does not chain to a trusted CA/);
  });
});

describe('a refused certificate is not asked again', () => {
  it('one connection, however many attempts the store allows (this process does not trust the CA)', async () => {
    let connections = 0;
    const server = createTlsServer({ key: tls.key, cert: tls.cert }, (s) => s.destroy());
    server.on('connection', () => connections++);
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const store = openStore(`https://127.0.0.1:${port}/?attempts=4`);
    try {
      const err = await store.getBytes('objects/sha256/00/x', { maxBytes: 100 }).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(TransportError);
      expect((err as TransportError).message).toMatch(/does not chain to a trusted CA/);
      expect(connections).toBe(1);
    } finally {
      await store.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
