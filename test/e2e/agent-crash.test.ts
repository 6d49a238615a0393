import { spawn } from 'node:child_process';
import { mkdir, readFile, readdir, readlink, realpath, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../helpers/tree-gen.js';
import { CLI, createDeployWorld, runCli, type DeployWorld } from '../helpers/deploy-world.js';
import { fleetSetYaml } from '../helpers/fleet.js';

const RUNS = process.env.FLOTILLA_SLOW === '1' ? 50 : 6;

/** A package big enough that a kill lands in fetch or materialise as often as in switch or activation. */
async function pushVersion(world: DeployWorld, version: string): Promise<string> {
  const dir = join(world.root, 'src', `crash-${version}`);
  await mkdir(join(dir, 'bin'), { recursive: true });
  await mkdir(join(dir, 'data'), { recursive: true });
  await writeFile(join(dir, 'VERSION'), `${version}\n`);
  await writeFile(join(dir, 'bin', 'activate'), '#!/bin/sh\nsleep 0.1\n');
  await writeFile(join(dir, 'bin', 'health'), '#!/bin/sh\nexit 0\n');
  await chmod(join(dir, 'bin', 'activate'), 0o755);
  await chmod(join(dir, 'bin', 'health'), 0o755);
  for (let i = 0; i < 40; i++) await writeFile(join(dir, 'data', `blob-${i}`), Buffer.alloc(64 * 1024, `${version}-${i}`));
  const r = await runCli(['push', dir, '--store', world.storeUrl, '--name', 'app', '--sign-key', world.publisherKeyFile]);
  if (r.code !== 0) throw new Error(r.stderr);
  return r.stdout.trim();
}

/** Runs `agent --once` and SIGKILLs it after `killAfterMs`; resolves when it is gone. */
function killAgentAfter(config: string, killAfterMs: number): Promise<'killed' | 'finished'> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, 'agent', '--config', config, '--once'], { stdio: 'ignore', env: { ...process.env, FLOTILLA_LOG_LEVEL: 'silent' } });
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      done(signal === 'SIGKILL' ? 'killed' : 'finished');
    });
  });
}

/** `current`, when present, is a complete generation: origin.json, and every package link resolves to its files. */
async function assertCurrentComplete(setDir: string, versions: Map<string, string>): Promise<string | null> {
  let target: string;
  try {
    target = await readlink(join(setDir, 'current'));
  } catch {
    return null;
  }
  const gen = join(setDir, target);
  const origin = JSON.parse(await readFile(join(gen, 'origin.json'), 'utf8')) as { digest: string; packages: Array<{ name: string }> };
  const pkg = await realpath(join(gen, 'app'));
  const version = (await readFile(join(pkg, 'VERSION'), 'utf8')).trim();
  expect(versions.get(origin.digest)).toBe(version);
  expect((await readdir(join(pkg, 'data'))).length).toBe(40);
  return origin.digest;
}

describe('agent crash safety: kill -9 at random moments, restart, converge', () => {
  let world: DeployWorld;
  let config: string;
  const versions = new Map<string, string>();

  beforeAll(async () => {
    world = await createDeployWorld();
    config = await world.agentConfig('m1');
  });
  afterAll(async () => world?.close());

  it(`${RUNS} kills during fetch, stage, switch and activation leave old or new, never a mix`, { timeout: 1_800_000 }, async () => {
    const rand = seededRandom(42);
    const stateDir = join(world.root, 'machines', 'm1');
    const setDir = join(stateDir, 'sets', 'app');
    // Measure one undisturbed tick to spread the kills over its whole length.
    const v0 = await pushVersion(world, 'v0');
    versions.set(v0, 'v0');
    await world.commit({ 'sets/app.yaml': fleetSetYaml(v0, world.platform, ['m1'], 1) });
    const t0 = Date.now();
    expect((await runCli(['agent', '--config', config, '--once'])).code).toBe(0);
    const tickMs = Date.now() - t0;
    let killed = 0;
    for (let i = 1; i <= RUNS; i++) {
      const digest = await pushVersion(world, `v${i}`);
      versions.set(digest, `v${i}`);
      await world.commit({ 'sets/app.yaml': fleetSetYaml(digest, world.platform, ['m1'], 1) }, `v${i}`);
      if ((await killAgentAfter(config, Math.floor(rand() * tickMs))) === 'killed') killed++;
      const seen = await assertCurrentComplete(setDir, versions);
      expect(seen === null || versions.has(seen)).toBe(true);
      const again = await runCli(['agent', '--config', config, '--once', '--json']);
      expect(again.code, again.stderr).toBe(0);
      expect(await assertCurrentComplete(setDir, versions)).toBe(digest);
      const state = JSON.parse(await readFile(join(setDir, 'state.json'), 'utf8')) as { active: number; pending?: unknown; rollback?: unknown };
      expect(state.pending).toBeUndefined();
      expect(state.rollback).toBeUndefined();
      expect(await readlink(join(setDir, 'current'))).toMatch(new RegExp(`^generations/${state.active}-`));
      expect((await readdir(setDir)).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
      expect((await readdir(join(stateDir, 'store'))).filter((n) => n.includes('partial'))).toEqual([]);
    }
    expect(killed).toBeGreaterThan(0);
  });
});
