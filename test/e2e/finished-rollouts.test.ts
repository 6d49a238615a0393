import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planRollout, rolloutIdFor } from '../../src/rollout/planner.js';
import type { Digest } from '../../src/store/digest.js';
import { openStore } from '../../src/store/open-store.js';
import { listAll } from '../../src/store/store.js';
import { runCli, worldBackends, type DeployWorld } from '../helpers/deploy-world.js';
import { fleetSetYaml, pushFleetPackage } from '../helpers/fleet.js';
import { dataOf } from '../helpers/cli-json.js';

interface GcJson {
  rollouts?: { deleted: string[]; deletedKeys: number; keptYoung: string[]; dryRun: boolean };
}

const MACHINES = ['m1', 'm2', 'm3'];

describe.each(worldBackends('rollouts/'))('lease objects of finished rollouts, on the $backend', ({ makeWorld }) => {
  let world: DeployWorld;
  beforeAll(async () => {
    world = await makeWorld();
  }, 300_000);
  afterAll(async () => world?.close());

  const keysUnder = async (prefix: string): Promise<string[]> => {
    const store = openStore(world.storeUrl);
    try {
      const keys: string[] = [];
      for await (const o of listAll(store, prefix)) keys.push(o.key);
      return keys.sort();
    } finally {
      await store.close();
    }
  };
  const leaseKeys = (): Promise<string[]> => keysUnder('leases/app/');
  const rollOut = async (digest: Digest, message: string): Promise<void> => {
    await world.commit({ 'sets/app.yaml': fleetSetYaml(digest, world.platform, MACHINES, 1) }, message);
    const plan = planRollout({ set: 'app', target: digest, machines: MACHINES, settings: { canary: 1, batchSize: { kind: 'count', count: 1 } } });
    for (const m of plan.order) expect((await runCli(['agent', '--config', await world.agentConfig(m), '--once'])).code, m).toBe(0);
  };
  const gc = async (olderThan: string): Promise<GcJson> =>
    dataOf<GcJson>((await runCli(['gc', '--store', world.storeUrl, '--repo', world.work.dir, '--older-than', olderThan, '--json'])).stdout);

  it('are collected by gc --store after the grace period; the current rollout\'s never are', { timeout: 600_000 }, async () => {
    const v1 = await pushFleetPackage(world, 'v1', true);
    const v2 = await pushFleetPackage(world, 'v2', true);
    await rollOut(v1, 'app v1');
    await rollOut(v2, 'app v2');
    const r1 = `leases/app/${rolloutIdFor('app', v1)}/`;
    const r2 = `leases/app/${rolloutIdFor('app', v2)}/`;
    // Every machine marked itself Ready on v2 with the report turning Ready, and withdrew its v1 marker before
    // it switched away from v1 (the real agents' tick and gate step).
    expect(await keysUnder(`ready/app/${rolloutIdFor('app', v2)}/`)).toEqual([...MACHINES].sort().map((m) => `ready/app/${rolloutIdFor('app', v2)}/${m}`));
    expect(await keysUnder(`ready/app/${rolloutIdFor('app', v1)}/`)).toEqual([]);
    const before = await leaseKeys();
    expect(before.some((k) => k.startsWith(r1))).toBe(true);
    expect(before.some((k) => k.startsWith(r2))).toBe(true);

    const young = await gc('1h');
    expect(young.rollouts).toEqual({ deleted: [], deletedKeys: 0, keptYoung: [`app/${rolloutIdFor('app', v1)}`], dryRun: false });
    expect(await leaseKeys()).toEqual(before);

    // A zero grace: every object is "old", yet only the finished rollout goes.
    const old = await gc('0s');
    expect(old.rollouts?.deleted).toEqual([`app/${rolloutIdFor('app', v1)}`]);
    expect(old.rollouts?.deletedKeys).toBe(before.filter((k) => k.startsWith(r1)).length);
    expect(await leaseKeys()).toEqual(before.filter((k) => k.startsWith(r2)));

    const status = await runCli(['status', '--repo', world.work.dir, '--store', world.storeUrl]);
    expect(status.code, status.stderr).toBe(0);
  });
});
