import { execFile } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objectKey } from '../../src/store/keys.js';
import { openStore } from '../../src/store/open-store.js';
import { makeTempDir } from '../helpers/package-fixtures.js';
import { generateTree } from '../helpers/tree-gen.js';
import { dataOf } from '../helpers/cli-json.js';
import { CLI } from '../helpers/cli-bin.js';

const exec = promisify(execFile);

async function cli(cwd: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await exec(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, FLOTILLA_LOG_LEVEL: 'silent' }, maxBuffer: 1 << 24 });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

describe('the built CLI: keygen, push, show, verify, fetch, diff, pin, gc', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let pub: string;
  beforeAll(async () => {
    t = await makeTempDir();
    await mkdir(join(t.dir, 'app'));
    await generateTree(join(t.dir, 'app'), { seed: 5, files: 25, minSize: 10, maxSize: 100_000, symlinks: 3 });
    const k = await cli(t.dir, 'keygen', '--name', 'ci-1');
    expect(k.code).toBe(0);
    pub = k.out.trim();
  });
  afterAll(async () => t.cleanup());

  it('keygen writes a 0600 secret key and prints NAME:base64; refuses to overwrite', async () => {
    expect(pub).toMatch(/^ci-1:[A-Za-z0-9+/]{43}=$/);
    expect((await stat(join(t.dir, 'ci-1.secret'))).mode & 0o777).toBe(0o600);
    expect((await readFile(join(t.dir, 'ci-1.secret.pub'), 'utf8')).trim()).toBe(pub);
    const again = await cli(t.dir, 'keygen', '--name', 'ci-1');
    expect(again.code).toBe(1);
    expect(again.err).toContain('KeyError');
  });

  it('push prints the digest alone; show, verify and fetch agree; a flipped byte fails verify naming the object', async () => {
    const p = await cli(t.dir, 'push', 'app', '--store', 'st', '--sign-key', 'ci-1.secret', '--provenance', 'build=42');
    expect(p.code).toBe(0);
    expect(p.out).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    const d = p.out.trim();
    const show = await cli(t.dir, 'show', d, '--store', 'st', '--trust', pub, '--json');
    expect(dataOf(show.out)).toMatchObject({ name: 'app', files: 25, provenance: { build: '42' }, signers: [{ key: 'ci-1', verified: true }], deployable: null });
    const v = await cli(t.dir, 'verify', d, '--store', 'st', '--trust', pub);
    expect(v.code).toBe(0);
    expect(v.out).toContain('OK');
    const f = await cli(t.dir, 'fetch', d, '--store', 'st', '--trust', `@ci-1.secret.pub`, '--state', 'state');
    expect(f.code).toBe(0);
    expect(f.out.trim()).toBe(join(t.dir, 'state', 'store', `${d.slice(7)}-app`));
    const wrong = await cli(t.dir, 'fetch', d, '--store', 'st', '--trust', 'other-1:' + Buffer.alloc(32, 1).toString('base64'), '--state', 'state2');
    expect(wrong.code).toBe(1);
    expect(wrong.err).toContain('SignatureError');
    // Flip a byte of the largest object.
    const man = JSON.parse((await openStore(join(t.dir, 'st')).getBytes(objectKey(d as never), { maxBytes: 1 << 20 })).toString()) as { entries: Array<{ digest?: string; size?: number; data?: string }> };
    const big = man.entries.filter((e) => e.digest && e.data === undefined).sort((a, b) => (b.size ?? 0) - (a.size ?? 0))[0]!;
    const store = openStore(join(t.dir, 'st'));
    const bytes = Buffer.from(await store.getBytes(objectKey(big.digest as never), { maxBytes: 1 << 24 }));
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    await store.put(objectKey(big.digest as never), bytes);
    const bad = await cli(t.dir, 'verify', d, '--store', 'st', '--trust', pub, '--json');
    expect(bad.code).toBe(1);
    expect(dataOf(bad.out)).toMatchObject({ ok: false, failures: [{ object: big.digest, code: 'IntegrityError' }] });
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    await store.put(objectKey(big.digest as never), bytes);
  });

  it('diff reports the changed file and the bytes to fetch; pin protects from gc', async () => {
    const a = (await cli(t.dir, 'push', 'app', '--store', 'st2', '--sign-key', 'ci-1.secret')).out.trim();
    await writeFile(join(t.dir, 'app', 'new-file.txt'), 'x'.repeat(5000));
    const b = (await cli(t.dir, 'push', 'app', '--store', 'st2', '--sign-key', 'ci-1.secret')).out.trim();
    const diff = dataOf<{ changed: Array<{ added: string[] }>; objectsToFetch: number; bytesToFetch: number }>((await cli(t.dir, 'diff', a, b, '--store', 'st2', '--json')).out);
    expect(diff.changed[0]?.added).toEqual(['new-file.txt']);
    expect(diff.objectsToFetch).toBe(2);
    expect(diff.bytesToFetch).toBeGreaterThan(5000);
    expect((await cli(t.dir, 'pin', 'release-1', a, '--store', 'st2')).code).toBe(0);
    expect((await cli(t.dir, 'pins', '--store', 'st2')).out.trim()).toBe(`release-1 ${a}`);
    const young = (dataOf<{ store: { deleted: string[]; keptYoung: number } }>((await cli(t.dir, 'gc', '--store', 'st2', '--json')).out)).store;
    expect(young.deleted).toEqual([]);
    expect(young.keptYoung).toBeGreaterThan(0);
    const gc = (dataOf<{ store: { deleted: string[] } }>((await cli(t.dir, 'gc', '--store', 'st2', '--older-than', '0s', '--json')).out)).store;
    expect(gc.deleted).toContain(`objects/sha256/${b.slice(7, 9)}/${b.slice(7)}`);
    expect((await cli(t.dir, 'verify', a, '--store', 'st2', '--trust', pub)).code).toBe(0);
    expect((await cli(t.dir, 'show', b, '--store', 'st2')).err).toContain('NotFoundError');
  });

  it('refuses a malformed digest and a missing --trust with clear errors', async () => {
    // Both are the caller's usage errors: exit 2, naming the argument or the option (docs/cli.md).
    const r = await cli(t.dir, 'fetch', 'sha256:nothex', '--store', 'st', '--trust', pub, '--state', 's');
    expect(r.code).toBe(2);
    expect(r.err).toContain('UsageError: DIGEST must be a closure digest (sha256: and 64 lowercase hex) or a Nix store path');
    const n = await cli(t.dir, 'verify', `sha256:${'0'.repeat(64)}`, '--store', 'st');
    expect(n.code).toBe(2);
    expect(n.err).toContain('--trust NAME:KEY (or @FILE) is required');
  });
});
