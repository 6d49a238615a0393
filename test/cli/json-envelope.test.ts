import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands.js';
import { makeTempDir } from '../helpers/package-fixtures.js';
import { runCliInProcess } from '../helpers/cli-in-process.js';
import { assertEnvelope, envelopeOf, envelopesOf } from '../helpers/cli-json.js';
import { CLI } from '../helpers/cli-bin.js';

const exec = promisify(execFile);

/** `flotilla ARGS` as a real process: exit code and both streams. */
async function cli(cwd: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await exec(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, FLOTILLA_LOG_LEVEL: 'silent' } });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

describe('the --json envelope (schemas/cli-envelope.schema.json), for every verb of the COMMANDS table', () => {
  // Every verb, the ones added later included: the table is read here, not copied.
  for (const entry of COMMANDS) {
    const words = entry.name.split(' ');

    it(`${entry.name}: an unknown option is a usage error (exit 2) printed as a failed envelope of kind "${entry.name}"`, async () => {
      const r = await runCliInProcess([...words, '--no-such-option', '--json']);
      expect(r.code, r.err).toBe(2);
      const e = envelopeOf(r.out);
      expect(e).toMatchObject({ ok: false, kind: entry.name, data: null, error: { code: 'UsageError' } });
      expect(envelopesOf(r.out)).toHaveLength(1);
      expect(r.err).toContain('flotilla: UsageError:');
    });

    it(`${entry.name}: a missing or extra argument is a usage error (exit 2)`, async () => {
      const cmd = await entry.load();
      const { min, max } = cmd.positionals ?? { min: 0, max: 0 };
      const argv = min > 0 ? words : [...words, ...Array.from({ length: max + 1 }, (_, i) => `extra-${i}`)];
      const r = await runCliInProcess([...argv, '--json']);
      expect(r.code, r.out).toBe(2);
      expect(envelopeOf(r.out)).toMatchObject({ ok: false, kind: entry.name, error: { code: 'UsageError' } });
    });

    it(`${entry.name}: --help --json is its help as data`, async () => {
      const r = await runCliInProcess([...words, '--help', '--json']);
      expect(r.code).toBe(0);
      expect(envelopeOf(r.out)).toMatchObject({ ok: true, kind: entry.name, data: { name: entry.name, usage: expect.stringContaining('flotilla') as unknown } });
    });
  }

  it('an unknown verb has kind null', async () => {
    const r = await runCliInProcess(['frobnicate', '--json']);
    expect(r.code).toBe(2);
    expect(envelopeOf(r.out)).toMatchObject({ ok: false, kind: null, error: { code: 'UsageError', data: { verb: 'frobnicate' } } });
  });

  it('the schema refuses an envelope that breaks the contract (an error on success, none on failure, a missing kind)', () => {
    expect(() => assertEnvelope({ ok: true, kind: 'status', data: null, error: { code: 'X', message: 'm' } })).toThrow(/envelope/);
    expect(() => assertEnvelope({ ok: false, kind: 'status', data: null })).toThrow(/envelope/);
    expect(() => assertEnvelope({ ok: true, data: {} })).toThrow(/envelope/);
    expect(assertEnvelope({ ok: true, kind: 'status', data: {} })).toMatchObject({ ok: true });
  });

  describe('good inputs, real processes', () => {
    let t: { dir: string; cleanup: () => Promise<void> };
    let pub: string;
    let digest: string;
    beforeAll(async () => {
      t = await makeTempDir();
      await mkdir(join(t.dir, 'app'));
      await writeFile(join(t.dir, 'app', 'hello.txt'), 'hello\n');
      await writeFile(join(t.dir, 'app', 'big.bin'), randomBytes(100_000));
      const k = await cli(t.dir, ['keygen', '--name', 'ci-1', '--json']);
      expect(k.code, k.err).toBe(0);
      pub = (envelopeOf(k.out).data as { publicKey: string }).publicKey;
      const p = await cli(t.dir, ['push', 'app', '--store', 'st', '--sign-key', 'ci-1.secret', '--json']);
      expect(p.code, p.err).toBe(0);
      digest = (envelopeOf(p.out).data as { digest: string }).digest;
    });
    afterAll(async () => t.cleanup());

    const cases: Array<[string, () => string[], number]> = [
      ['version', () => ['version', '--json'], 0],
      ['version', () => ['status', '--version', '--json'], 0],
      ['help', () => ['help', '--json'], 0],
      ['help', () => ['help', 'status', '--json'], 0],
      ['completion', () => ['completion', 'bash', '--json'], 0],
      ['show', () => ['show', digest, '--store', 'st', '--json'], 0],
      ['verify', () => ['verify', digest, '--store', 'st', '--trust', pub, '--json'], 0],
      ['pins', () => ['pins', '--store', 'st', '--json'], 0],
      ['fetch', () => ['fetch', digest, '--store', 'st', '--trust', pub, '--state', 'state', '--json'], 0],
      ['fsck', () => ['fsck', '--state', 'state', '--json'], 0],
      ['gc', () => ['gc', '--state', 'state', '--dry-run', '--json'], 0],
    ];
    for (const [kind, argv, code] of cases) {
      it(`${argv().join(' ').replace(/sha256:\w+/, 'DIGEST')} → one ok envelope of kind ${kind}`, async () => {
        const r = await cli(t.dir, argv());
        expect(r.code, r.err).toBe(code);
        expect(envelopesOf(r.out)).toHaveLength(1);
        expect(envelopeOf(r.out)).toMatchObject({ ok: true, kind });
      });
    }

    it('a thrown error keeps its FlotillaError code, message and data, and its exit code', async () => {
      const r = await cli(t.dir, ['show', 'sha256:' + '0'.repeat(64), '--store', 'st', '--json']);
      expect(r.code).toBe(1);
      expect(envelopeOf(r.out)).toMatchObject({ ok: false, kind: 'show', data: null, error: { code: 'NotFoundError' } });
      expect(r.err).toContain('flotilla: NotFoundError:');
    });

    it('a failure verdict (exit 1, nothing thrown) is ok: false with code "Failed" and its details still in data', async () => {
      // Damage big.bin's object in the store (the one object of its size): verify finishes and reports it.
      const objects = await readdir(join(t.dir, 'st'), { recursive: true, withFileTypes: true });
      const damaged: string[] = [];
      for (const f of objects.filter((o) => o.isFile())) {
        const file = join(f.parentPath, f.name);
        const bytes = await readFile(file);
        if (bytes.length !== 100_000) continue;
        bytes[0] = (bytes[0] ?? 0) ^ 1;
        await writeFile(file, bytes);
        damaged.push(file);
      }
      expect(damaged).toHaveLength(1);
      const r = await cli(t.dir, ['verify', digest, '--store', 'st', '--trust', pub, '--json']);
      expect(r.code).toBe(1);
      const e = envelopeOf(r.out);
      expect(e).toMatchObject({ ok: false, kind: 'verify', error: { code: 'Failed' }, data: { ok: false, failures: [{ code: 'IntegrityError' }] } });
    });
  });
});
