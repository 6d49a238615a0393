import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/deploy-world.js';
import { makeTempDir } from '../helpers/package-fixtures.js';
import { dataOf } from '../helpers/cli-json.js';

// `flotilla sign` with the built CLI on a real directory store: adding a signature never removes one that
// verifies, and `flotilla verify` still passes afterwards.
describe('flotilla sign', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  const pub: Record<string, string> = {};
  let digest: string;
  const cli = (...args: string[]) => runCli(args, { cwd: t.dir });
  const sigDir = (): string => join(t.dir, 'st', 'signatures', 'sha256', digest.slice(7));
  const signatures = async (): Promise<Record<string, string>> => {
    const out: Record<string, string> = {};
    for (const n of (await readdir(sigDir())).sort()) out[n] = await readFile(join(sigDir(), n), 'utf8');
    return out;
  };
  const verify = (...trust: string[]) => cli('verify', digest, '--store', 'st', ...trust.flatMap((k) => ['--trust', k]), '--threshold', String(trust.length));

  beforeAll(async () => {
    t = await makeTempDir();
    for (const [name, out] of [['ci-1', 'ci-1.secret'], ['rel-1', 'rel-1.secret'], ['rel-1', 'impostor.secret']] as const) {
      const k = await cli('keygen', '--name', name, '--out', out);
      expect(k.code, k.stderr).toBe(0);
      pub[out] = k.stdout.trim();
    }
    await mkdir(join(t.dir, 'app'));
    await writeFile(join(t.dir, 'app', 'hello.txt'), 'hello\n');
    const p = await cli('push', 'app', '--store', 'st', '--sign-key', 'ci-1.secret');
    expect(p.code, p.stderr).toBe(0);
    digest = p.stdout.trim();
  });
  afterAll(async () => t.cleanup());

  it.each([
    ['its own .pub file', 'ci-1.secret.pub', 'DIR/ci-1.secret.pub looks like a public key (NAME:base64 of 32 bytes), not a secret key; pass DIR/ci-1.secret instead'],
    ['a public key under another file name', 'copied-key', 'DIR/copied-key looks like a public key (NAME:base64 of 32 bytes), not a secret key; pass the secret key file flotilla keygen wrote'],
  ])('refuses a public key (%s) with a KeyError naming the file, and the signature stays valid', async (_what, keyFile, message) => {
    await writeFile(join(t.dir, 'copied-key'), `${pub['ci-1.secret']}\n`);
    const before = await signatures();
    const r = await cli('sign', digest, '--store', 'st', '--key', keyFile);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`flotilla: KeyError: ${message.replaceAll('DIR', t.dir)}`);
    expect(await signatures()).toEqual(before);
    const v = await verify(pub['ci-1.secret']!);
    expect(v.code, v.stdout).toBe(0);
  });

  it('adds a second signer; signing again with the same key is a no-op', async () => {
    const r = await cli('sign', digest, '--store', 'st', '--key', 'rel-1.secret', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(dataOf(r.stdout)).toMatchObject({ ok: true, key: 'rel-1', outcome: 'added' });
    expect((await verify(pub['ci-1.secret']!, pub['rel-1.secret']!)).code).toBe(0);
    const before = await signatures();
    const again = await cli('sign', digest, '--store', 'st', '--key', 'rel-1.secret');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`${digest} already carries a valid signature by rel-1; nothing changed`);
    expect(await signatures()).toEqual(before);
  });

  it('keeps a signature by another key of the same name unless --replace', async () => {
    const before = await signatures();
    const r = await cli('sign', digest, '--store', 'st', '--key', 'impostor.secret');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`KeyError: ${digest} already carries a signature under the key name rel-1 that this key did not make`);
    expect(r.stderr).toContain('--replace');
    expect(await signatures()).toEqual(before);
    expect((await verify(pub['ci-1.secret']!, pub['rel-1.secret']!)).code).toBe(0);
    // The way out for a rotated key works, and is what the refusal above prevented.
    const replaced = await cli('sign', digest, '--store', 'st', '--key', 'impostor.secret', '--replace', '--json');
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(dataOf(replaced.stdout)).toMatchObject({ outcome: 'replaced' });
    expect((await verify(pub['ci-1.secret']!, pub['impostor.secret']!)).code).toBe(0);
    expect((await verify(pub['ci-1.secret']!, pub['rel-1.secret']!)).code).toBe(1);
  });

  it('overwrites garbage under its own name (nothing there could verify)', async () => {
    await writeFile(join(sigDir(), 'ci-1'), 'not a signature\n');
    expect((await verify(pub['ci-1.secret']!)).code).toBe(1);
    const r = await cli('sign', digest, '--store', 'st', '--key', 'ci-1.secret', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(dataOf(r.stdout)).toMatchObject({ outcome: 'replaced' });
    expect((await verify(pub['ci-1.secret']!)).code).toBe(0);
  });
});
