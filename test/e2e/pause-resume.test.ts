// Suspend and pause with real agent processes, the real CLI and a real store (directory and Ceph RGW):
// a paused or suspended set keeps what it runs, reports why, and status shows who paused it and when.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planRollout } from '../../src/rollout/planner.js';
import type { Digest } from '../../src/store/digest.js';
import { runCli, worldBackends, type DeployWorld } from '../helpers/deploy-world.js';
import { fleetSetYaml, pushFleetPackage, readStatuses } from '../helpers/fleet.js';
import { dataOf } from '../helpers/cli-json.js';

const MACHINES = ['m1', 'm2'];

interface LocalStatus {
  sets: Array<{ set: string; currentDigest: string | null; conditions: Array<{ type: string; reason: string; message: string }> }>;
}

describe.each(worldBackends('pause/'))('pause, resume and suspended: true, on the $backend', ({ makeWorld }) => {
  let world: DeployWorld;
  beforeAll(async () => {
    world = await makeWorld();
  }, 300_000);
  afterAll(async () => world?.close());

  const order = (digest: Digest): string[] => planRollout({ set: 'app', target: digest, machines: MACHINES, settings: { canary: 1, batchSize: { kind: 'count', count: 1 } } }).order;
  const once = async (m: string): Promise<number> => (await runCli(['agent', '--config', await world.agentConfig(m), '--once'])).code;
  const reconciling = async (m: string): Promise<{ reason: string; message: string } | undefined> => {
    const local = JSON.parse(await readFile(join(world.stateDirOf(m), 'status.json'), 'utf8')) as LocalStatus;
    return local.sets.find((s) => s.set === 'app')?.conditions.find((c) => c.type === 'Reconciling');
  };
  const cli = async (args: string[]): Promise<{ code: number; json: Record<string, unknown>; stderr: string }> => {
    const r = await runCli([...args, '--json']);
    return { code: r.code, json: dataOf<Record<string, unknown> | null>(r.stdout) ?? {}, stderr: r.stderr };
  };

  it('nothing switches while paused or suspended; resume and a commit lift them', { timeout: 600_000 }, async () => {
    const v1 = await pushFleetPackage(world, 'v1', true);
    const v2 = await pushFleetPackage(world, 'v2', true);
    await world.commit({ 'sets/app.yaml': fleetSetYaml(v1, world.platform, MACHINES, 1) }, 'app v1');
    for (const m of order(v1)) expect(await once(m), m).toBe(0);

    const target = ['--repo', world.work.dir, '--store', world.storeUrl];
    const paused = await cli(['pause', 'app', ...target, '--by', 'alice@ops', '--reason', 'incident 42']);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.json).toMatchObject({ ok: true, created: true, pause: { set: 'app', by: 'alice@ops', reason: 'incident 42' } });
    // A second pause keeps the first one's who and when.
    expect((await cli(['pause', 'app', '--store', world.storeUrl, '--by', 'bob@ops'])).json).toMatchObject({ created: false, pause: { by: 'alice@ops' } });

    await world.commit({ 'sets/app.yaml': fleetSetYaml(v2, world.platform, MACHINES, 1) }, 'app v2');
    for (const m of order(v2)) {
      expect(await once(m), m).toBe(3);
      expect(await reconciling(m)).toMatchObject({ reason: 'Paused', message: expect.stringContaining('paused by alice@ops') as unknown });
    }
    expect([...(await readStatuses(world.storeUrl, 'app')).values()].map((s) => s.currentDigest)).toEqual([v1, v1]);
    const status = await runCli(['status', ...target]);
    expect(status.stdout).toMatch(/PAUSED by alice@ops since \S+: incident 42; lift with: flotilla resume app/);
    const statusJson = await cli(['status', ...target]);
    expect(statusJson.json['sets']).toMatchObject([{ set: 'app', pause: { by: 'alice@ops', reason: 'incident 42' }, suspended: false }]);

    expect((await cli(['resume', 'app', ...target])).json).toMatchObject({ ok: true, resumed: true, pause: { by: 'alice@ops' } });
    expect((await cli(['resume', 'app', ...target])).json).toMatchObject({ ok: true, resumed: false });
    for (const m of order(v2)) expect(await once(m), m).toBe(0);
    expect([...(await readStatuses(world.storeUrl, 'app')).values()].map((s) => s.currentDigest)).toEqual([v2, v2]);

    // Declaratively: a signed commit that both moves the closure and suspends the set moves nothing.
    await world.commit({ 'sets/app.yaml': `${fleetSetYaml(v1, world.platform, MACHINES, 1)}suspended: true\n` }, 'app: suspend, back to v1');
    for (const m of order(v1)) {
      expect(await once(m), m).toBe(3);
      expect(await reconciling(m)).toMatchObject({ reason: 'Suspended' });
    }
    expect([...(await readStatuses(world.storeUrl, 'app')).values()].map((s) => s.currentDigest)).toEqual([v2, v2]);
    expect((await runCli(['status', ...target])).stdout).toContain('SUSPENDED in the deploy repo');
  });

  it('refuses a set the repo does not declare, naming the ones it has', async () => {
    const r = await runCli(['pause', 'nope', '--repo', world.work.dir, '--store', world.storeUrl]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/declares no set "nope"; it has: app/);
  });
});
