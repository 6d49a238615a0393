import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { activateGeneration, drainMachine, undrainMachine } from '../../src/activation/activate.js';
import { runCommand } from '../../src/activation/run-command.js';
import type { ActivationSpec, FlotillaEnv } from '../../src/activation/spec.js';
import { ActivationError } from '../../src/errors/index.js';
import { makeTempDir } from './proc.js';

let dir: string;
let cleanup: () => Promise<void>;
let gen: string;
let log: string;
let env: FlotillaEnv;

beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir('activate'));
  gen = join(dir, 'generations', '2-abcdef12');
  log = join(dir, 'phases.log');
  await mkdir(join(gen, 'bin'), { recursive: true });
  // One script for every phase: it appends its phase, cwd and FLOTILLA_* variables to the log.
  await writeScript(
    'bin/hook',
    `echo "$1 phase=$FLOTILLA_PHASE cwd=$(pwd) set=$FLOTILLA_SET digest=$FLOTILLA_DIGEST gen=$FLOTILLA_GENERATION prev=\${FLOTILLA_PREVIOUS-none} extra=\${EXTRA-none}" >> ${log}`,
  );
  env = {
    FLOTILLA_SET: 'web',
    FLOTILLA_DIGEST: `sha256:${'ab'.repeat(32)}`,
    FLOTILLA_GENERATION: gen,
    FLOTILLA_PREVIOUS: join(dir, 'generations', '1-00000000'),
  };
});
afterEach(() => cleanup());

async function writeScript(relative: string, body: string): Promise<void> {
  const file = join(gen, relative);
  await writeFile(file, `#!/bin/sh\n${body}\n`);
  await chmod(file, 0o755);
}

async function phases(): Promise<string[]> {
  return (await readFile(log, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
}

describe('activateGeneration', () => {
  it('runs the command from the generation with the FLOTILLA_* env and declared env', async () => {
    const spec: ActivationSpec = { command: ['bin/hook', 'act'], env: { EXTRA: 'x', FLOTILLA_SET: 'forged' }, timeoutMs: 10_000 };
    await activateGeneration({ runner: runCommand, generationPath: gen, spec, env });
    expect(await phases()).toEqual([
      `act phase=activate cwd=${gen} set=web digest=${env.FLOTILLA_DIGEST} gen=${gen} prev=${env.FLOTILLA_PREVIOUS} extra=x`,
    ]);
  });

  it('runs drain, then the activation, then undrain, in that order', async () => {
    const spec: ActivationSpec = {
      command: ['bin/hook', 'act'],
      timeoutMs: 10_000,
      drain: { command: ['bin/hook', 'drain'], timeoutMs: 5000 },
      undrain: { command: './bin/hook undrain', timeoutMs: 5000 },
      drainGraceMs: 50,
    };
    const { FLOTILLA_PREVIOUS: _omit, ...firstDeploy } = env;
    await activateGeneration({ runner: runCommand, generationPath: gen, spec, env: firstDeploy });
    const lines = await phases();
    expect(lines.map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual(['drain phase=drain', 'act phase=activate', 'undrain phase=undrain']);
    expect(lines.every((l) => l.includes('prev=none'))).toBe(true);
  });

  it('a failing activation throws ActivationError with the exit code and output, and skips undrain', async () => {
    await writeScript('bin/fail', 'echo "port 8080 in use" >&2; exit 3');
    const spec: ActivationSpec = {
      command: ['bin/fail'],
      timeoutMs: 10_000,
      drain: { command: ['bin/hook', 'drain'], timeoutMs: 5000 },
      undrain: { command: ['bin/hook', 'undrain'], timeoutMs: 5000 },
    };
    const err = await activateGeneration({ runner: runCommand, generationPath: gen, spec, env }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ActivationError);
    expect((err as ActivationError).data).toMatchObject({ phase: 'activate', exitCode: 3, timedOut: false, stderrTail: 'port 8080 in use\n', set: 'web' });
    expect((await phases()).map((l) => l.split(' ')[0])).toEqual(['drain']);
  });

  it('a failing drain stops before the activation', async () => {
    const spec: ActivationSpec = { command: ['bin/hook', 'act'], timeoutMs: 10_000, drain: { command: 'exit 7', timeoutMs: 5000 } };
    const err = await activateGeneration({ runner: runCommand, generationPath: gen, spec, env }).catch((e: unknown) => e);
    expect((err as ActivationError).data).toMatchObject({ phase: 'drain', exitCode: 7 });
    expect(await phases()).toEqual([]);
  });

  it('an activation that hangs is killed at its timeout and reported as timedOut', async () => {
    const spec: ActivationSpec = { command: 'sleep 300', timeoutMs: 200 };
    const err = await activateGeneration({ runner: runCommand, generationPath: gen, spec, env }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ActivationError);
    expect((err as ActivationError).data).toMatchObject({ phase: 'activate', timedOut: true, exitCode: null });
  });

  it('refuses a relative command that leaves the generation, and reports a missing one', async () => {
    const escape = await activateGeneration({ runner: runCommand, generationPath: gen, spec: { command: ['../../x'], timeoutMs: 1000 }, env }).catch((e: unknown) => e);
    expect(escape).toBeInstanceOf(ActivationError);
    expect((escape as ActivationError).data).toMatchObject({ field: 'activate', command: '../../x' });
    const missing = await activateGeneration({ runner: runCommand, generationPath: gen, spec: { command: ['bin/nope'], timeoutMs: 1000 }, env }).catch((e: unknown) => e);
    expect((missing as ActivationError).data['spawnError']).toMatch(/ENOENT/);
  });

  it('does not leak the agent environment (store credentials) to the command', async () => {
    process.env['AWS_SECRET_ACCESS_KEY'] = 'do-not-leak';
    try {
      await writeScript('bin/env', `env > ${join(dir, 'env.txt')}`);
      await activateGeneration({ runner: runCommand, generationPath: gen, spec: { command: ['bin/env'], timeoutMs: 5000 }, env });
      const seen = await readFile(join(dir, 'env.txt'), 'utf8');
      expect(seen).toContain('FLOTILLA_SET=web');
      expect(seen).toContain('PATH=');
      expect(seen).not.toContain('do-not-leak');
    } finally {
      delete process.env['AWS_SECRET_ACCESS_KEY'];
    }
  });

  it('runs only drain and undrain when the declaration has no command (shape as declarations normalise it)', async () => {
    const spec: ActivationSpec = { env: { EXTRA: 'd' }, timeoutMs: 4000, drainGraceMs: 0, drain: { command: ['bin/hook', 'drain'], timeoutMs: 4000 }, undrain: { command: ['/bin/sh', '-c', './bin/hook undrain'], timeoutMs: 4000 } };
    await activateGeneration({ runner: runCommand, generationPath: gen, spec, env });
    expect((await phases()).map((l) => l.split(' ')[0])).toEqual(['drain', 'undrain']);
    expect((await phases()).every((l) => l.endsWith('extra=d'))).toBe(true);
  });

  it('drain and undrain can be run apart from the activation (undrain after health)', async () => {
    const spec: ActivationSpec = { command: ['bin/hook', 'act'], timeoutMs: 5000, drain: { command: ['bin/hook', 'drain'], timeoutMs: 5000 }, undrain: { command: ['bin/hook', 'undrain'], timeoutMs: 5000 } };
    await drainMachine({ runner: runCommand, generationPath: gen, spec, env });
    await activateGeneration({ runner: runCommand, generationPath: gen, spec, env, drain: false, undrain: false });
    await undrainMachine({ runner: runCommand, generationPath: gen, spec, env });
    expect((await phases()).map((l) => l.split(' ')[0])).toEqual(['drain', 'act', 'undrain']);
  });
});
