import { spawn } from 'node:child_process';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../helpers/package-fixtures.js';
import { makeSshKey, writeAllowedSigners } from '../helpers/ssh-keys.js';
import { envelopeOf } from '../helpers/cli-json.js';
import { CLI } from '../helpers/cli-bin.js';

/** Runs the built CLI with stdout closed before it writes: the reader of a pipe that went away. */
function withClosedStdout(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FLOTILLA_LOG_LEVEL: 'silent' } });
  // Our end of the pipe is its only reader: once closed, the child's first write fails with EPIPE.
  child.stdout.destroy();
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((done) => child.on('close', (code, signal) => done({ code, signal, err })));
}

/** Runs the built CLI with stderr going to `stderrFile` and `env` added; resolves with the exit code and stdout. */
async function withStderrFile(args: string[], stderrFile: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const fh = await open(stderrFile, 'w');
  try {
    const base = { ...process.env };
    delete base['JOURNAL_STREAM'];
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', fh.fd], env: { ...base, ...env } });
    let out = '';
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((done) => child.on('close', done));
    return { code, out };
  } finally {
    await fh.close();
  }
}

describe('the CLI as a process', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    t = await makeTempDir();
  });
  afterAll(async () => t.cleanup());

  describe('a closed stdout (EPIPE) ends the verb quietly with 141, as SIGPIPE would', () => {
    for (const args of [['help'], ['completion', 'bash'], ['help', '--json'], ['version', '--json']]) {
      it(`flotilla ${args.join(' ')}`, async () => {
        const r = await withClosedStdout(args);
        expect(r.err).toBe('');
        expect(r.code).toBe(141);
      });
    }

    it('a failed verb still says why on stderr, in one line, without a stack trace', async () => {
      const r = await withClosedStdout(['no-such-verb', '--json']);
      expect(r.err).toMatch(/^flotilla: UsageError: unknown command "no-such-verb"[^\n]*\n$/);
      expect(r.code).toBe(141);
    });
  });

  describe('every usage error exits 2, with a real process', () => {
    const cases: Array<[string, string[]]> = [
      ['an unknown flag', ['status', '--frobnicate']],
      ['a flag without its value', ['status', '--interval']],
      ['a missing argument', ['show']],
      ['an argument too many', ['version', 'extra']],
      ['a bad value', ['status', '--watch', '--interval', 'soon']],
      ['a bad enum value', ['plan', '--format', 'yaml']],
      ['a malformed digest', ['show', 'sha256:nope', '--store', 'st']],
      ['an unknown verb', ['stauts']],
      ['no verb at all', []],
    ];
    for (const [what, args] of cases) {
      it(what, async () => {
        const r = await withStderrFile([...args, '--json'].filter((a, i, all) => all.length > 1 || a !== '--json'), join(t.dir, 'usage.err'), {});
        expect(r.code).toBe(2);
      });
    }
  });

  describe('journald priorities (JOURNAL_STREAM names stderr)', () => {
    let config: string;
    beforeAll(async () => {
      const key = await makeSshKey(t.dir, 'alice');
      const signers = join(t.dir, 'allowed_signers');
      await writeAllowedSigners(signers, [key]);
      config = join(t.dir, 'agent.yaml');
      // A repo that is not there: the tick logs a warning (the step), an error (the tick) and info (the end).
      await writeFile(config, `machine: m1\nstateDir: ${join(t.dir, 'state')}\nrepo:\n  url: ${join(t.dir, 'no-such-repo')}\n  branch: main\ntrust:\n  allowedSignersFile: ${signers}\n`);
    });
    const inode = async (file: string): Promise<string> => {
      const fh = await open(file, 'r');
      try {
        const st = await fh.stat({ bigint: true });
        return `${st.dev}:${st.ino}`;
      } finally {
        await fh.close();
      }
    };

    it('prefixes each log line with <N>: err 3, warning 4, info 6', async () => {
      const file = join(t.dir, 'journal.err');
      await writeFile(file, '');
      const r = await withStderrFile(['agent', '--config', config, '--once'], file, { JOURNAL_STREAM: await inode(file), FLOTILLA_LOG_LEVEL: 'info' });
      expect(r.code).toBe(1);
      const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
      expect(lines.length, lines.join('\n')).toBeGreaterThanOrEqual(3);
      for (const line of lines) expect(line).toMatch(/^<[2-7]>/);
      const json = lines.filter((l) => /^<\d>\{/.test(l)).map((l) => [Number(l[1]), (JSON.parse(l.slice(3)) as { level: number }).level]);
      expect(json).toContainEqual([4, 40]);
      expect(json).toContainEqual([3, 50]);
      expect(json).toContainEqual([6, 30]);
      for (const [priority, level] of json) expect(priority).toBe(level === 50 ? 3 : level === 40 ? 4 : level === 30 ? 6 : 7);
    });

    it('prefixes the error line of a failed verb with <3>', async () => {
      const file = join(t.dir, 'journal-usage.err');
      await writeFile(file, '');
      const r = await withStderrFile(['status', '--frobnicate'], file, { JOURNAL_STREAM: await inode(file) });
      expect(r.code).toBe(2);
      expect(await readFile(file, 'utf8')).toMatch(/^<3>flotilla: UsageError: /);
    });

    it('writes no prefix without JOURNAL_STREAM, nor when it names another file (a child whose stderr was redirected)', async () => {
      const other = join(t.dir, 'other');
      await writeFile(other, '');
      for (const env of [{}, { JOURNAL_STREAM: await inode(other) }]) {
        const file = join(t.dir, 'plain.err');
        await writeFile(file, '');
        await withStderrFile(['agent', '--config', config, '--once'], file, { ...env, FLOTILLA_LOG_LEVEL: 'info' });
        const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
        expect(lines.length).toBeGreaterThanOrEqual(3);
        for (const line of lines) expect(line).toMatch(/^[{f]/);
      }
    });
  });

  it('--json on stdout stays an envelope under journald (only stderr gets priorities)', async () => {
    const file = join(t.dir, 'j.err');
    await writeFile(file, '');
    const fh = await open(file, 'r');
    const st = await fh.stat({ bigint: true });
    await fh.close();
    const r = await withStderrFile(['show', '--json'], file, { JOURNAL_STREAM: `${st.dev}:${st.ino}` });
    expect(r.code).toBe(2);
    expect(envelopeOf(r.out)).toMatchObject({ ok: false, kind: 'show', error: { code: 'UsageError' } });
  });
});
