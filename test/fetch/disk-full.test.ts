// A full state dir is a local fault: DiskFullError with the figures, never a store's TransportError, no
// mirror tried, nothing half-written left behind. The state dir is a real 4 MiB tmpfs (we run as root).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, statfs, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fetchClosure } from '../../src/fetch/fetch-closure.js';
import type { DiskSpace } from '../../src/generations/index.js';
import { pushDirectory } from '../../src/publish/push-directory.js';
import type { Digest } from '../../src/store/digest.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { formatPublicKey } from '../../src/trust/publisher-key.js';
import { startHttpStoreServer, type HttpStoreServer } from '../helpers/http-store-server.js';
import { makeKeyPair, makeTempDir } from '../helpers/package-fixtures.js';
import { startRecordingProxy, type RecordingProxy } from '../helpers/recording-proxy.js';
import { fillFilesystem, mountTmpfs } from '../helpers/tmpfs.js';
import { CLI } from '../helpers/cli-bin.js';

const TMPFS = '4m';

function runCli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, FLOTILLA_LOG_LEVEL: 'silent' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, out, err }));
  });
}

/** What the mirror was asked for besides signatures and manifests' metadata: object fetches. */
function objectRequests(p: RecordingProxy): string[] {
  return p.seen.filter((s) => s.includes('/objects/'));
}

/** Nothing half-written: no object temp, no partial package, no package at all. */
async function expectNothingLeft(state: string): Promise<void> {
  expect(await readdir(join(state, 'objects', 'tmp'))).toEqual([]);
  expect(await readdir(join(state, 'store'))).toEqual([]);
}

describe('fetching into a full state dir', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let digest: Digest;
  let key: ReturnType<typeof makeKeyPair>;
  let server: HttpStoreServer;
  let mirror: RecordingProxy;
  let first: HttpStoreServer;
  const storeDir = (): string => join(t.dir, 'store');
  const mounts: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of mounts.splice(0)) await c();
    mirror.seen.length = 0;
  });

  beforeAll(async () => {
    t = await makeTempDir('flotilla-diskfull-');
    const src = join(t.dir, 'src');
    await mkdir(src);
    // 6 MiB of incompressible bytes in three objects: more than the 4 MiB tmpfs holds.
    for (const n of ['a.bin', 'b.bin', 'c.bin']) await writeFile(join(src, n), randomBytes(2 * 1024 * 1024));
    key = makeKeyPair('disk');
    const store = openStore(storeDir());
    digest = (await pushDirectory(store, src, { name: 'big', signKeys: [key.secret] })).digest;
    await store.close();
    // The mirror serves the same objects (trying it would succeed) and records what it is asked: signatures
    // are looked up in every store, objects must never be asked of it.
    server = await startHttpStoreServer(storeDir());
    mirror = await startRecordingProxy(server.url);
    first = await startHttpStoreServer(storeDir());
  });
  afterAll(async () => {
    await mirror.close();
    await server.close();
    await first.close();
    await t.cleanup();
  });

  it('flotilla fetch refuses before fetching: DiskFullError naming needed and free bytes, no mirror tried, nothing left', async () => {
    const fs = await mountTmpfs(TMPFS);
    mounts.push(fs.cleanup);
    const state = join(fs.dir, 'state');
    const r = await runCli(['fetch', digest, '--store', storeDir(), '--store', mirror.url, '--trust', formatPublicKey(key.public), '--state', state, '--json']);
    expect(r.code, r.err).toBe(1);
    const body = JSON.parse(r.out) as { ok: boolean; error: { code: string; message: string; data: { neededBytes: number; freeBytes: number } } };
    expect(body.error.code).toBe('DiskFullError');
    const { neededBytes, freeBytes } = body.error.data;
    expect(neededBytes).toBeGreaterThan(6 * 1024 * 1024);
    expect(freeBytes).toBeLessThan(neededBytes);
    expect(body.error.message).toContain(`needs ${neededBytes} bytes, ${freeBytes} bytes free`);
    expect(r.err).toContain('flotilla: DiskFullError: not enough disk space');
    expect(objectRequests(mirror)).toEqual([]);
    await expectNothingLeft(state);
    // The disk is not left full: only the manifests were written.
    const s = await statfs(fs.dir);
    expect(s.bavail / s.blocks).toBeGreaterThan(0.9);
  });

  // Past the early check (a port that claims room), the real ENOSPC of a write is the same local error.
  const roomy: DiskSpace = { freeBytes: () => Promise.resolve(1e12) };
  const FIRST: Array<{ first: string; store: () => Store }> = [
    { first: 'a directory store (copy in the kernel)', store: () => openStore(storeDir()) },
    { first: 'an HTTP store (streamed writes)', store: () => openStore(first.url) },
  ];
  it.each(FIRST)('ENOSPC while writing from $first: DiskFullError, the mirror not tried, temps and partials removed', async ({ store }) => {
    const fs = await mountTmpfs(TMPFS);
    mounts.push(fs.cleanup);
    const state = join(fs.dir, 'state');
    const s1 = store();
    const s2 = openStore(mirror.url);
    try {
      const err = await fetchClosure({ stores: [s1, s2], digest, policy: { trusted: [key.public] }, stateDir: state, space: roomy, fsThreads: 0 }).then(
        () => undefined,
        (e: unknown) => e as { code: string; message: string; data: Record<string, unknown> },
      );
      expect(err?.code, err?.message).toBe('DiskFullError');
      expect(err?.data['errno']).toBe('ENOSPC');
      expect(err?.message).toContain('disk full');
    } finally {
      await s1.close();
      await s2.close();
    }
    expect(objectRequests(mirror)).toEqual([]);
    await expectNothingLeft(state);
  });

  it('a disk already full to the last byte (no room even for the manifests) is DiskFullError too', async () => {
    const fs = await mountTmpfs(TMPFS);
    mounts.push(fs.cleanup);
    const state = join(fs.dir, 'state');
    await fillFilesystem(fs.dir);
    const r = await runCli(['fetch', digest, '--store', storeDir(), '--store', mirror.url, '--trust', formatPublicKey(key.public), '--state', state, '--json']);
    expect(r.code, r.err).toBe(1);
    expect((JSON.parse(r.out) as { error: { code: string } }).error.code).toBe('DiskFullError');
    await unlink(join(fs.dir, 'filler'));
  });
});
