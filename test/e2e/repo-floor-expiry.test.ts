// Two repo-level defences of the agent, end to end over a real signed repo served by git http-backend and a
// real directory store:
//  - `trust.minimumCommit` in the agent config: a machine whose state dir is empty (new, or wiped) must not
//    trust history below the pinned floor commit (`flotilla agent --once` as a process);
//  - the repo's signed `expires` passing while HEAD does not move: the agent reports the repo stale although
//    nothing changed (one agent, two ticks, the clock port moved past the expiry in between).
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../../src/agent/run-agent.js';
import { loadAgentConfig } from '../../src/declarations/index.js';
import type { Clock } from '../../src/rollout/clock.js';
import { createDeployWorld, repoConfigYaml, runCli, type DeployWorld } from '../helpers/deploy-world.js';
import { dataOf } from '../helpers/cli-json.js';

interface Report {
  exitCode: number;
  commit: string | null;
  error?: { code: string; message: string; data?: Record<string, unknown> };
  outcomes: Array<{ set: string; result: string; reason: string; current: string | null }>;
}

const setYaml = (closure: string, platform: string): string => `closure: ${closure}\nplatform: ${platform}\nmachines: [m1, m2, m3, m4]\nrollout:\n  batchSize: all\n`;

async function markOf(stateDir: string): Promise<string | null> {
  const text = await readFile(join(stateDir, 'repo-high-water-mark.json'), 'utf8').catch(() => null);
  return text === null ? null : (JSON.parse(text) as { commit: string }).commit;
}

/** Packages materialised in the machine's state dir (nothing fetched: none). */
async function materialised(stateDir: string): Promise<string[]> {
  return (await readdir(join(stateDir, 'store')).catch(() => [] as string[])).filter((n) => !n.startsWith('.'));
}

describe('agent config minimumCommit: an empty state dir does not trust history below the floor', () => {
  let world: DeployWorld;
  let v1: string;
  let v2: string;
  let below: string;
  let floor: string;
  let sibling: string;

  const once = async (machine: string, minimumCommit: string | undefined): Promise<{ code: number; report: Report; stateDir: string }> => {
    const trust = { allowedSignersFile: world.allowedSignersFile, ...(minimumCommit ? { minimumCommit } : {}) };
    const config = await world.agentConfig(machine, { trust });
    const r = await runCli(['agent', '--config', config, '--once', '--json']);
    return { code: r.code, report: dataOf<Report>(r.stdout), stateDir: world.stateDirOf(machine) };
  };
  const publish = async (oid: string): Promise<void> => {
    await world.work.setBranch('main', oid);
    await world.work.git(['reset', '-q', '--hard', oid]);
    await world.work.pushTo(world.bareDir);
  };

  beforeAll(async () => {
    world = await createDeployWorld({ prefix: 'floor' });
    v1 = await world.pushPackage('app', { 'VERSION': 'v1\n' });
    v2 = await world.pushPackage('app', { 'VERSION': 'v2\n' });
    below = await world.commit({ 'sets/app.yaml': setYaml(v1, world.platform) }, 'v1: below the floor');
    floor = await world.commit({ 'sets/app.yaml': setYaml(v2, world.platform) }, 'v2: the floor');
    // A validly signed commit that does not descend from the floor (a sibling of it).
    await publish(below);
    sibling = await world.commit({ 'README': 'a fork of history\n' }, 'sibling of the floor');
    await publish(floor);
  });
  afterAll(async () => world?.close());

  const REFUSED = [
    { name: 'HEAD force-pushed to an ancestor of the floor', head: () => below, machine: 'm1' },
    { name: 'HEAD on a branch beside the floor', head: () => sibling, machine: 'm2' },
  ];

  it.each(REFUSED)('$name: RollbackError(below-floor), nothing fetched, no high-water mark', { timeout: 180_000 }, async ({ head, machine }) => {
    await publish(head());
    // Control: the same machine without a floor trusts the validly signed HEAD (what the floor prevents).
    const control = await once(`${machine}-nofloor`, undefined);
    expect(control.report.commit).toBe(head());
    expect(await markOf(control.stateDir)).toBe(head());

    const r = await once(machine, floor);
    expect(r.code).toBe(1);
    expect(r.report.error?.code, r.report.error?.message).toBe('RollbackError');
    expect(r.report.error?.message).toContain(floor);
    expect(await markOf(r.stateDir)).toBeNull();
    expect(await materialised(r.stateDir)).toEqual([]);
  });

  it('HEAD at the floor, then past it: accepted and converged', { timeout: 180_000 }, async () => {
    await publish(floor);
    const at = await once('m3', floor);
    expect(at.code, JSON.stringify(at.report)).toBe(0);
    expect(at.report.outcomes[0]).toMatchObject({ set: 'app', result: 'converged', current: v2 });
    const next = await world.commit({ 'README': 'after the floor\n' }, 'after the floor');
    await rm(world.stateDirOf('m4'), { recursive: true, force: true });
    const past = await once('m4', floor);
    expect(past.code, JSON.stringify(past.report)).toBe(0);
    expect(past.report.commit).toBe(next);
    expect(await markOf(past.stateDir)).toBe(next);
  });
});

describe('repo expiry reached while HEAD is unchanged', () => {
  let world: DeployWorld;
  afterAll(async () => world?.close());

  beforeAll(async () => {
    world = await createDeployWorld({ prefix: 'expiry' });
  });

  it('the next tick of the same agent reports the repo stale and changes nothing', { timeout: 180_000 }, async () => {
    const v1 = await world.pushPackage('app', { 'VERSION': 'v1\n' });
    const expires = new Date(Date.now() + 60 * 60 * 1000);
    const head = await world.commit(
      { 'flotilla.yaml': `${repoConfigYaml(world.storeUrl, world.publisherPublic)}expires: ${expires.toISOString()}\n`, 'sets/app.yaml': setYaml(v1, world.platform) },
      'v1, expires in an hour',
    );
    const loaded = await loadAgentConfig(await world.agentConfig('m1'));
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    // The clock port: the real clock, plus an offset the test moves (monotonic time moves with it).
    let offsetMs = 0;
    const clock: Clock = { now: () => new Date(Date.now() + offsetMs), monotonicMs: () => performance.now() + offsetMs };
    const agent = await createAgent({ config: loaded.value, log: pino({ level: 'silent' }), signal: new AbortController().signal, clock });
    try {
      const first = await agent.tick();
      expect(first.exitCode, JSON.stringify(first)).toBe(0);
      expect(first.outcomes[0]).toMatchObject({ set: 'app', result: 'converged', current: v1 });

      const same = await agent.tick();
      expect(same.exitCode).toBe(0);
      expect(same.outcomes[0]).toMatchObject({ result: 'unchanged', current: v1 });

      offsetMs = expires.getTime() - Date.now() + 60_000; // a minute past the expiry
      const stale = await agent.tick();
      expect(stale.commit).toBe(head);
      expect(stale.exitCode).toBe(3);
      expect(stale.error?.code, JSON.stringify(stale)).toBe('StaleRepoError');
      expect(stale.outcomes[0]).toMatchObject({ set: 'app', reason: 'RepoStale', current: v1 });
    } finally {
      await agent.close();
    }
  });
});
