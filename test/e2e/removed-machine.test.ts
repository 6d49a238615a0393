import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planRollout } from '../../src/rollout/planner.js';
import { runCli, worldBackends, type DeployWorld } from '../helpers/deploy-world.js';
import { fleetSetYaml, pushFleetPackage, readStatuses } from '../helpers/fleet.js';
import { dataOf } from '../helpers/cli-json.js';

// A machine leaves its set in a new commit: `flotilla status` lists it apart and stops counting it, and
// `flotilla gc --store --repo` collects its report once the grace period has passed, never a member's.

interface StatusJson {
  result: string;
  sets: Array<{ health: string; machines: Array<{ machine: string }>; removed: Array<{ machine: string; lastSeen: string | null }> }>;
}
interface GcJson {
  reports?: { deleted: string[]; keptYoung: string[] };
}

describe.each(worldBackends('removed/'))('a machine removed from its set, on the $backend', ({ makeWorld }) => {
  let world: DeployWorld;
  beforeAll(async () => {
    world = await makeWorld();
  }, 300_000);
  afterAll(async () => world?.close());

  const status = async (): Promise<{ code: number; json: StatusJson; text: string }> => {
    const args = ['status', '--repo', world.work.dir, '--store', world.storeUrl];
    const [json, text] = await Promise.all([runCli([...args, '--json']), runCli(args)]);
    return { code: json.code, json: dataOf<StatusJson>(json.stdout), text: text.stdout };
  };
  const gc = async (olderThan: string): Promise<GcJson> =>
    dataOf<GcJson>((await runCli(['gc', '--store', world.storeUrl, '--repo', world.work.dir, '--older-than', olderThan, '--json'])).stdout);

  it('is shown apart and does not count; gc collects its report after the grace period, never a member\'s', { timeout: 600_000 }, async () => {
    const v1 = await pushFleetPackage(world, 'v1', true);
    await world.commit({ 'sets/app.yaml': fleetSetYaml(v1, world.platform, ['m1', 'm2', 'm3'], 2) }, 'app v1');
    const plan = planRollout({ set: 'app', target: v1, machines: ['m1', 'm2', 'm3'], settings: { canary: 1, batchSize: { kind: 'count', count: 2 } } });
    for (const m of plan.order) expect((await runCli(['agent', '--config', await world.agentConfig(m), '--once'])).code, m).toBe(0);
    expect((await status()).code).toBe(0);

    await world.commit({ 'sets/app.yaml': fleetSetYaml(v1, world.platform, ['m1', 'm2'], 2) }, 'decommission m3');
    const after = await status();
    expect(after.code).toBe(0);
    expect(after.json.sets[0]?.health).toBe('converged');
    expect(after.json.sets[0]?.machines.map((m) => m.machine).sort()).toEqual(['m1', 'm2']);
    expect(after.json.sets[0]?.removed).toEqual([{ machine: 'm3', lastSeen: expect.any(String) as string, currentDigest: v1, state: 'Ready' }]);
    expect(after.text).toMatch(/m3: removed from the set, last seen \S+/);

    const young = await gc('1h');
    expect(young.reports).toEqual({ deleted: [], keptYoung: ['status/app/m3.json'], dryRun: false });
    expect([...(await readStatuses(world.storeUrl, 'app')).keys()].sort()).toEqual(['m1', 'm2', 'm3']);

    // A zero grace: every report is "old", yet only the removed machine's goes.
    const old = await gc('0s');
    expect(old.reports?.deleted).toEqual(['status/app/m3.json']);
    expect([...(await readStatuses(world.storeUrl, 'app')).keys()].sort()).toEqual(['m1', 'm2']);
    const gone = await status();
    expect(gone.code).toBe(0);
    expect(gone.json.sets[0]?.removed).toEqual([]);
  });
});
