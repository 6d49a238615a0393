// The bin's entry answers `flotilla --help` and `flotilla VERB --help` from a table taken from the CLI at
// build time (src/cli/quick-help.ts, help-snapshot.ts, scripts/bundle-cli.mjs), so a start costs little more
// than Node's: the answer must be exactly the CLI's own, and must come without loading the CLI.
import { execFile, spawn } from 'node:child_process';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands.js';
import { quickHelp, type HelpTable } from '../../src/cli/quick-help.js';
import { CLI } from '../helpers/cli-bin.js';
import { runCliInProcess } from '../helpers/cli-in-process.js';
import { makeTempDir } from '../helpers/package-fixtures.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function node(script: string, args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [script, ...args], { env: { ...process.env, FLOTILLA_LOG_LEVEL: 'silent' }, timeout: 60_000 }, (err, stdout, stderr) => {
      done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
    });
  });
}

describe('quickHelp: the forms the table answers', () => {
  const table: HelpTable = { top: 'TOP\n', verbs: { fetch: 'FETCH\n', agent: 'AGENT\n', 'agent status': 'AGENT STATUS\n' } };
  const cases: Array<[string[], { text: string; exitCode: 0 | 2 } | undefined]> = [
    [[], { text: 'TOP\n', exitCode: 2 }],
    [['--help'], { text: 'TOP\n', exitCode: 0 }],
    [['-h', 'fetch', '--json'], { text: 'TOP\n', exitCode: 0 }],
    [['fetch', '--help'], { text: 'FETCH\n', exitCode: 0 }],
    [['fetch', '-h'], { text: 'FETCH\n', exitCode: 0 }],
    [['agent', 'status', '--help'], { text: 'AGENT STATUS\n', exitCode: 0 }],
    [['agent', '--help'], { text: 'AGENT\n', exitCode: 0 }],
    // Everything else is the CLI's to answer: options it must check, a --json envelope, --version, unknown verbs.
    [['agent', 'bogus', '--help'], undefined],
    [['fetch', '--help', '--json'], undefined],
    [['fetch', '--json', '--help'], undefined],
    [['fetch', 'sha256:x', '--help'], undefined],
    [['fetch'], undefined],
    [['nope', '--help'], undefined],
    [['fetch', '--version'], undefined],
  ];
  for (const [argv, want] of cases) {
    it(`flotilla ${argv.join(' ') || '(nothing)'}`, () => {
      expect(quickHelp(argv, table)).toEqual(want);
    });
  }
});

describe('the bin answers help from its table, exactly as the CLI does', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    t = await makeTempDir('flotilla-quick-help-');
  });
  afterAll(async () => t?.cleanup());

  it('--help, -h and nothing at all print the top help, with the CLI\'s exit codes', async () => {
    const real = await runCliInProcess(['--help']);
    for (const [args, code] of [[['--help'], 0], [['-h'], 0], [[], 2]] as const) {
      const r = await node(CLI, [...args]);
      expect(r.stdout).toBe(real.out);
      expect(r.code).toBe(code);
      expect(r.stderr).toBe('');
    }
  });

  // The table is only ever what the CLI printed when it was built: a verb changed since shows up here.
  for (const entry of COMMANDS) {
    it(`${entry.name} --help`, async () => {
      const argv = [...entry.name.split(' '), '--help'];
      const [real, bin] = await Promise.all([runCliInProcess(argv), node(CLI, argv)]);
      expect(real.code).toBe(0);
      expect(bin.stdout).toBe(real.out);
      expect(bin.code).toBe(0);
    });
  }

  it("answers without the rest of the bundle: the entry alone, copied away from the CLI's bundle", async () => {
    const alone = join(t.dir, 'flotilla.js');
    await copyFile(CLI, alone);
    const real = await runCliInProcess(['fetch', '--help']);
    expect((await node(alone, ['fetch', '-h'])).stdout).toBe(real.out);
    expect((await node(alone, ['--help'])).code).toBe(0);
    // Anything else needs the CLI, which is not there: proof that the two above never loaded it.
    const other = await node(alone, ['version']);
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain("flotilla-cli.js");
  });

  it('a closed stdout ends a quick answer quietly with 141, as the CLI does', async () => {
    for (const args of [['--help'], ['fetch', '--help']]) {
      const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy();
      let err = '';
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      const code = await new Promise<number | null>((done) => child.on('close', done));
      expect(err).toBe('');
      expect(code).toBe(141);
    }
  });
});
