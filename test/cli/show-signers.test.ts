import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPublicKey } from '../../src/trust/publisher-key.js';
import { pushDirectory } from '../../src/publish/push-directory.js';
import type { Digest } from '../../src/store/digest.js';
import { signaturesPrefix } from '../../src/store/keys.js';
import { openStore } from '../../src/store/open-store.js';
import { CLI } from '../helpers/cli-bin.js';
import { dataOf } from '../helpers/cli-json.js';
import { startFaultServer, type FaultServer } from '../helpers/fault-server.js';
import { makeKeyPair, makeTempDir } from '../helpers/package-fixtures.js';

const exec = promisify(execFile);

async function show(cwd: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await exec(process.execPath, [CLI, 'show', ...args], { cwd, env: { ...process.env, FLOTILLA_LOG_LEVEL: 'silent' } });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

describe('flotilla show: a signature it cannot read is an error, not an absent signer', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let server: FaultServer;
  let digest: Digest;
  const key = makeKeyPair('ci-1');
  beforeAll(async () => {
    t = await makeTempDir();
    await mkdir(join(t.dir, 'app'));
    await writeFile(join(t.dir, 'app', 'a.txt'), 'hello\n');
    digest = (await pushDirectory(openStore(join(t.dir, 'st')), join(t.dir, 'app'), { name: 'app', signKeys: [key.secret] })).digest;
    server = await startFaultServer(join(t.dir, 'st'));
  });
  afterAll(async () => {
    await server.close();
    await t.cleanup();
  });

  it('over HTTP (no listing): a signer whose signature answers 503 fails show with exit 1; a healthy store shows it verified', async () => {
    const trust = formatPublicKey(key.public);
    const ok = await show(t.dir, digest, '--store', server.url, '--trust', trust, '--json');
    expect(ok.code, ok.err).toBe(0);
    expect(dataOf<{ signers: unknown[] }>(ok.out).signers).toEqual([{ key: 'ci-1', verified: true }]);

    server.setFault(signaturesPrefix(digest), 'status-503');
    const bad = await show(t.dir, digest, '--store', server.url, '--trust', trust);
    // Before, the 503 was swallowed and show said "signers (none)" with exit 0.
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/TransportError/);
    expect(bad.out).not.toMatch(/signers/);
  }, 60_000);
});
