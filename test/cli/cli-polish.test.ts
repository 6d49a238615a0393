import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/deploy-world.js';
import { FLOTILLA_VERSION } from '../../src/util/version.js';
import { dataOf } from '../helpers/cli-json.js';

// help VERB, --version anywhere, "did you mean", and completion scripts loaded in real bash, zsh and fish,
// all through the built CLI as a process.

function sh(shell: string, args: string[], cwd: string): Promise<{ code: number; out: string; err: string }> {
  return new Promise((done, fail) => {
    const child = spawn(shell, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd } });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? -1, out, err }));
  });
}

describe('the CLI as people expect it', () => {
  it('help VERB prints what VERB --help prints; help alone lists every verb', async () => {
    const [viaHelp, viaFlag, top] = await Promise.all([runCli(['help', 'status']), runCli(['status', '--help']), runCli(['help'])]);
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.stdout).toBe(viaFlag.stdout);
    expect(viaHelp.stdout).toContain('usage: flotilla status');
    expect(top.code).toBe(0);
    for (const verb of ['status', 'serve', 'help', 'version', 'completion']) expect(top.stdout).toMatch(new RegExp(`^  ${verb} `, 'm'));
    const [sub, subFlag] = await Promise.all([runCli(['help', 'agent', 'status']), runCli(['agent', 'status', '--help'])]);
    expect([sub.code, sub.stdout]).toEqual([0, subFlag.stdout]);
    expect(sub.stdout).toContain('flotilla agent status');
    const json = dataOf<{ name: string; options: Record<string, unknown> }>((await runCli(['help', 'serve', '--json'])).stdout);
    expect(json.name).toBe('serve');
    expect(Object.keys(json.options)).toContain('listen');
  });

  it('prints the version of package.json for --version anywhere and for the version verb', async () => {
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    expect(FLOTILLA_VERSION).toBe(pkg.version);
    for (const argv of [['--version'], ['version'], ['status', '--version'], ['push', 'some-dir', '--store', 'x', '--version']]) {
      const r = await runCli(argv);
      expect([r.code, r.stdout], argv.join(' ')).toEqual([0, `${pkg.version}\n`]);
    }
    expect(dataOf((await runCli(['version', '--json'])).stdout)).toEqual({ version: pkg.version });
    expect(dataOf((await runCli(['--version', '--json'])).stdout)).toEqual({ version: pkg.version });
  });

  it('suggests the verb or option meant, as a usage error (exit 2)', async () => {
    const verb = await runCli(['stauts']);
    expect(verb.code).toBe(2);
    expect(verb.stderr).toContain('unknown command "stauts"; did you mean "status"?');
    const option = await runCli(['status', '--stor', 'x']);
    expect(option.code).toBe(2);
    expect(option.stderr).toContain('unknown option --stor; did you mean --store?');
    const help = await runCli(['help', 'sevre', '--json']);
    expect(help.code).toBe(2);
    expect(JSON.parse(help.stdout)).toMatchObject({ ok: false, error: { code: 'UsageError', data: { verb: 'sevre', suggestion: 'serve' } } });
    const far = await runCli(['frobnicate']);
    expect(far.code).toBe(2);
    expect(far.stderr).not.toContain('did you mean');
  });

  describe('completion', () => {
    let dir: string;
    const scripts: Record<string, string> = {};
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'flotilla-completion-'));
      for (const shell of ['bash', 'zsh', 'fish']) {
        const r = await runCli(['completion', shell]);
        expect(r.code, shell).toBe(0);
        scripts[shell] = join(dir, `flotilla.${shell}`);
        await writeFile(scripts[shell], r.stdout);
      }
      await writeFile(join(dir, 'deploy-notes.txt'), 'x');
    });
    afterAll(async () => rm(dir, { recursive: true, force: true }));

    /** What bash's completion function offers for the words typed so far (the last one being completed). */
    const bash = async (...words: string[]): Promise<string[]> => {
      const setup = `source ${JSON.stringify(scripts['bash'])}; COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(' ')}); COMP_CWORD=${words.length - 1}; _flotilla; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const r = await sh('bash', ['--norc', '--noprofile', '-c', setup], dir);
      expect(r.err).toBe('');
      return r.out.split('\n').filter((l) => l !== '');
    };

    it('bash completes verbs, their flags, the flag values as files, and fixed arguments', async () => {
      expect(await bash('flotilla', 'st')).toEqual(['status']);
      expect(await bash('flotilla', 'se')).toEqual(['serve']);
      expect(await bash('flotilla', 'status', '--re')).toEqual(['--repo', '--rev']);
      expect(await bash('flotilla', 'serve', '--l')).toEqual(['--listen']);
      expect(await bash('flotilla', 'status', '--j')).toEqual(['--json']);
      expect(await bash('flotilla', 'status', '--repo', 'dep')).toEqual(['deploy-notes.txt']);
      expect(await bash('flotilla', 'help', 'ver')).toEqual(['verify', 'version']);
      expect(await bash('flotilla', 'completion', '')).toEqual(['bash', 'zsh', 'fish']);
      // Two-word verbs complete as their first word, then the second.
      expect(await bash('flotilla', 'ag')).toEqual(['agent']);
      expect(await bash('flotilla', 'agent', '')).toEqual(['reconcile', 'status']);
      const r = await sh('bash', ['--norc', '--noprofile', '-c', `source ${JSON.stringify(scripts['bash'])}; complete -p flotilla`], dir);
      expect(r.out.trim()).toBe('complete -o filenames -F _flotilla flotilla');
    });

    it('fish completes verbs and their flags', async () => {
      const fish = async (line: string): Promise<string[]> => {
        const r = await sh('fish', ['--no-config', '-c', `source ${JSON.stringify(scripts['fish'])}; complete -C ${JSON.stringify(line)}`], dir);
        expect(r.err).toBe('');
        return r.out.split('\n').filter((l) => l !== '').map((l) => l.split('\t')[0]!);
      };
      expect(await fish('flotilla stat')).toEqual(['status']);
      expect(await fish('flotilla serve --lis')).toEqual(['--listen']);
      expect(await fish('flotilla completion ')).toEqual(['bash', 'fish', 'zsh']);
    });

    it('zsh loads the script and registers it for flotilla', async () => {
      const r = await sh('zsh', ['-f', '-c', `autoload -Uz compinit && compinit -u -d ${JSON.stringify(join(dir, 'zcompdump'))} && source ${JSON.stringify(scripts['zsh'])} && print -r -- $_comps[flotilla]`], dir);
      expect([r.code, r.err, r.out.trim()]).toEqual([0, '', '_flotilla']);
      expect((await sh('zsh', ['-n', scripts['zsh']!], dir)).code).toBe(0);
      const script = await readFile(scripts['zsh']!, 'utf8');
      expect(script).toContain("'--listen[address to listen on (default 127.0.0.1 8089; port 0 picks a free one)]:listen:_files'");
    });

    it('refuses an unknown shell as a usage error', async () => {
      const r = await runCli(['completion', 'tcsh']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('choose one of bash, zsh, fish');
    });
  });
});
