import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planRollout } from '../../src/rollout/planner.js';
import { runCli, worldBackends, type DeployWorld } from '../helpers/deploy-world.js';
import { fleetSetYaml, pushFleetPackage, readStatuses, waitFor } from '../helpers/fleet.js';
import { dataOf } from '../helpers/cli-json.js';

// A machine of an earlier batch dies for good: with maxUnavailable 0 the others wait and say who they wait
// for; with maxUnavailable 1 they converge around it; when it comes back it converges on its own turn.
// Real agent processes (`flotilla agent --once`, one tick each) against real stores.

const MACHINES = ['m1', 'm2', 'm3', 'm4'];
const UNREACHABLE_AFTER_MS = 2000;

interface OnceJson {
  outcomes: Array<{ set: string; result: string; reason: string; message: string }>;
}

describe.each(worldBackends('budget/'))('an unreachable canary and the unavailability budget, on the $backend', ({ makeWorld }) => {
  let world: DeployWorld;
  beforeAll(async () => {
    world = await makeWorld();
  }, 300_000);
  afterAll(async () => world?.close());

  const setYaml = (closure: string, maxUnavailable: number): string =>
    fleetSetYaml(closure, world.platform, MACHINES, 1).replace('  leaseTtl: 30s\n', `  leaseTtl: 30s\n  maxUnavailable: ${maxUnavailable}\n  unreachableAfter: ${UNREACHABLE_AFTER_MS}ms\n`);

  const once = async (machine: string): Promise<{ code: number; json: OnceJson }> => {
    // A 1 s heartbeat, declared in each report: readers call a report silent only past two of its beats as well
    // as unreachableAfter, so with the default 10 min beat the dead canary would look alive for 20 min.
    const r = await runCli(['agent', '--config', await world.agentConfig(machine, { statusHeartbeat: '1s' }), '--once', '--json']);
    return { code: r.code, json: dataOf<OnceJson>(r.stdout) };
  };

  const status = async (): Promise<{ code: number; json: { sets: Array<{ machines: Array<{ machine: string; state: string }> }> } }> => {
    const r = await runCli(['status', '--repo', world.work.dir, '--store', world.storeUrl, '--json']);
    return { code: r.code, json: dataOf<never>(r.stdout) };
  };

  it('waits naming the unreachable machine with maxUnavailable 0, converges around it with 1, and it converges when back', { timeout: 600_000 }, async () => {
    const v1 = await pushFleetPackage(world, 'v1', true);
    await world.commit({ 'sets/app.yaml': setYaml(v1, 0) }, 'app v1');
    const plan1 = planRollout({ set: 'app', target: v1, machines: MACHINES, settings: { canary: 1, batchSize: { kind: 'count', count: 1 } } });
    for (const m of plan1.order) expect((await once(m)).code, `${m} on v1`).toBe(0);

    const v2 = await pushFleetPackage(world, 'v2', true);
    const plan2 = planRollout({ set: 'app', target: v2, machines: MACHINES, settings: { canary: 1, batchSize: { kind: 'count', count: 1 } } });
    const [dead, ...rest] = plan2.order as [string, ...string[]];
    // From here on the canary's agent never runs again: it reported once (Ready on v1) and died.
    await world.commit({ 'sets/app.yaml': setYaml(v2, 0) }, 'app v2, maxUnavailable 0');
    const lastReport = Date.parse((await readStatusesRaw(world, dead)) ?? '');
    expect(await waitFor(() => Promise.resolve(Date.now() - lastReport > UNREACHABLE_AFTER_MS), 30_000)).toBe(true);

    for (const m of rest) {
      const r = await once(m);
      expect(r.code, `${m} waits with maxUnavailable 0`).toBe(3);
      const outcome = r.json.outcomes.find((o) => o.set === 'app');
      expect(outcome).toMatchObject({ result: 'waiting', reason: 'WaitingForBatch' });
      // The first batch waits for the canary; later ones may name the nearest machine still waiting.
      if (m === rest[0]) expect(outcome?.message).toMatch(new RegExp(`unreachable .*${dead} .*maxUnavailable allows 0`));
    }
    expect([...(await readStatuses(world.storeUrl, 'app'))].filter(([, s]) => s.currentDigest === v2)).toEqual([]);
    const waiting = await status();
    expect(waiting.code).toBe(1);
    expect(waiting.json.sets[0]?.machines.find((m) => m.machine === dead)?.state).toBe('Unreachable');

    // The same closure with a budget of 1: the same rollout (same id, same plan), now stepping over the canary.
    await world.commit({ 'sets/app.yaml': setYaml(v2, 1) }, 'app v2, maxUnavailable 1');
    for (const m of rest) expect((await once(m)).code, `${m} converges with maxUnavailable 1`).toBe(0);
    const st = await readStatuses(world.storeUrl, 'app');
    for (const m of rest) expect(st.get(m)).toMatchObject({ currentDigest: v2, state: 'Ready' });
    expect(st.get(dead)?.currentDigest).toBe(v1);
    const around = await status();
    expect(around.code).toBe(1); // a dead machine still needs a human: bring it back or remove it
    expect(around.json.sets[0]?.machines.find((m) => m.machine === dead)?.state).toBe('Unreachable');

    // It comes back: its own agent runs its turn and converges.
    expect((await once(dead)).code).toBe(0);
    expect((await readStatuses(world.storeUrl, 'app')).get(dead)).toMatchObject({ currentDigest: v2, state: 'Ready' });
    expect((await status()).code).toBe(0);
  });
});

/** The reportedAt of `machine`'s report of set app. */
async function readStatusesRaw(world: DeployWorld, machine: string): Promise<string | undefined> {
  const r = await runCli(['status', '--repo', world.work.dir, '--store', world.storeUrl, '--json']);
  const json = dataOf<{ sets: Array<{ machines: Array<{ machine: string; reportedAt: string | null }> }> }>(r.stdout);
  return json.sets[0]?.machines.find((m) => m.machine === machine)?.reportedAt ?? undefined;
}
