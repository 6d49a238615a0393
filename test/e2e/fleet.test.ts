import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planRollout } from '../../src/rollout/planner.js';
import type { Digest } from '../../src/store/digest.js';
import { runCli, worldBackends, type DeployWorld } from '../helpers/deploy-world.js';
import { FETCH_LOOKAHEAD_BATCHES } from '../../src/reconcile/step-gate.js';
import { fleetSetYaml, isQuarantined, machineNames, maxOverlap, pushFleetPackage, readStatuses, readSteps, startFleet, waitFor, type Fleet } from '../helpers/fleet.js';
import { dataOf } from '../helpers/cli-json.js';

const SLOW = process.env.FLOTILLA_SLOW === '1';
const N = SLOW ? 50 : 10;
const BATCH = 3;

interface Interval {
  machine: string;
  start: number;
  end: number;
}

/** From each machine's own log: when it started switching to `digest` and when it committed (Ready). */
async function switchIntervals(fleet: Fleet, machines: string[], digest: string): Promise<Interval[]> {
  const out: Interval[] = [];
  for (const m of machines) {
    const steps = (await readSteps(fleet.logFile(m))).filter((s) => s.digest === digest);
    const sw = steps.find((s) => s.step === 'switch');
    const commit = steps.find((s) => s.step === 'commit');
    if (sw && commit) out.push({ machine: m, start: sw.time - sw.ms, end: commit.time });
  }
  return out;
}

describe.each(worldBackends('fleet/'))(`fleet rollout on the $backend: ${N} agent processes, canary 1 + batches of ${BATCH}, one repo over HTTP`, ({ makeWorld }) => {
  let world: DeployWorld;
  let fleet: Fleet;
  const machines = machineNames(N);

  beforeAll(async () => {
    world = await makeWorld();
    fleet = await startFleet(world, machines);
  });

  afterAll(async () => {
    await fleet?.stop();
    await world?.close();
  });

  const status = async (): Promise<{ code: number; json: { result: string; sets: Array<{ health: string; readyCount: number; quarantines: Array<{ digest: string; machines: string[] }> }> } }> => {
    const r = await runCli(['status', '--repo', world.work.dir, '--store', world.storeUrl, '--json']);
    return { code: r.code, json: dataOf<never>(r.stdout) };
  };

  const allOn = (digest: Digest) => async () => {
    const st = await readStatuses(world.storeUrl, 'app');
    return machines.every((m) => st.get(m)?.currentDigest === digest && st.get(m)?.state === 'Ready');
  };

  it('converges every machine, never more than a batch at once, batches in order', { timeout: 600_000 }, async () => {
    const v1 = await pushFleetPackage(world, 'v1', true);
    await world.commit({ 'sets/app.yaml': fleetSetYaml(v1, world.platform, machines, BATCH) }, 'app v1');
    expect(await waitFor(allOn(v1), 240_000)).toBe(true);

    const intervals = await switchIntervals(fleet, machines, v1);
    expect(intervals).toHaveLength(N);
    expect(maxOverlap(intervals)).toBeLessThanOrEqual(BATCH);
    const plan = planRollout({ set: 'app', target: v1, machines, settings: { canary: 1, batchSize: { kind: 'count', count: BATCH } } });
    const byMachine = new Map(intervals.map((i) => [i.machine, i]));
    for (let k = 1; k < plan.batches.length; k++) {
      const prevReady = Math.max(...(plan.batches[k - 1] ?? []).map((m) => byMachine.get(m)?.end ?? Infinity));
      const start = Math.min(...(plan.batches[k] ?? []).map((m) => byMachine.get(m)?.start ?? -Infinity));
      expect(start, `batch ${k} started before batch ${k - 1} was Ready`).toBeGreaterThan(prevReady);
    }
    // Fetching waits for the turn to come close: batch k fetches only once batch k − lookahead − 1 is Ready.
    const fetchedAt = async (m: string): Promise<number> => {
      const f = (await readSteps(fleet.logFile(m))).find((s) => s.digest === v1 && s.step === 'fetch');
      return f === undefined ? -Infinity : f.time - f.ms;
    };
    let checked = 0;
    for (let k = FETCH_LOOKAHEAD_BATCHES + 1; k < plan.batches.length; k++) {
      const farReady = Math.max(...(plan.batches[k - FETCH_LOOKAHEAD_BATCHES - 1] ?? []).map((m) => byMachine.get(m)?.end ?? Infinity));
      for (const m of plan.batches[k] ?? []) {
        expect(await fetchedAt(m), `${m} (batch ${k}) fetched before batch ${k - FETCH_LOOKAHEAD_BATCHES - 1} was Ready`).toBeGreaterThan(farReady);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
    const st = await status();
    expect(st.code).toBe(0);
    expect(st.json.sets[0]).toMatchObject({ health: 'converged', readyCount: N });
  });

  it('stops the line when the canary fails, then converges on a new good commit', { timeout: 900_000 }, async () => {
    const bad = await pushFleetPackage(world, 'v2-bad', false);
    await world.commit({ 'sets/app.yaml': fleetSetYaml(bad, world.platform, machines, BATCH) }, 'app v2 (broken)');
    const plan = planRollout({ set: 'app', target: bad, machines, settings: { canary: 1, batchSize: { kind: 'count', count: BATCH } } });
    const canary = plan.batches[0]?.[0] ?? '';
    expect(await waitFor(() => isQuarantined(world.storeUrl, 'app', bad), 120_000)).toBe(true);
    // Give the fleet several more polls: nobody else may switch to the quarantined digest.
    await new Promise((r) => setTimeout(r, 4000));
    const tried = await switchIntervals(fleet, machines, bad);
    const switched = new Set<string>();
    for (const m of machines) if ((await readSteps(fleet.logFile(m))).some((s) => s.digest === bad && s.step === 'switch')) switched.add(m);
    expect([...switched]).toEqual([canary]);
    expect(tried).toHaveLength(0); // the canary never committed the bad digest
    const st = await readStatuses(world.storeUrl, 'app');
    expect(st.get(canary)?.state).toBe('RolledBack');
    const fleetStatus = await status();
    expect(fleetStatus.code).toBe(1);
    expect(fleetStatus.json.sets[0]?.quarantines).toEqual([{ digest: bad, machines: [canary] }]);

    const v3 = await pushFleetPackage(world, 'v3', true);
    await world.commit({ 'sets/app.yaml': fleetSetYaml(v3, world.platform, machines, BATCH) }, 'app v3');
    expect(await waitFor(allOn(v3), 240_000)).toBe(true);
    expect(maxOverlap(await switchIntervals(fleet, machines, v3))).toBeLessThanOrEqual(BATCH);
  });

  it('resumes a stopped rollout when an operator fixes the cause, unquarantines and clears the canary', { timeout: 900_000 }, async () => {
    const flag = join(world.root, 'dependency-down');
    await writeFile(flag, 'the database is down\n');
    const flaky = await pushFleetPackage(world, 'v4-flaky', true, flag);
    await world.commit({ 'sets/app.yaml': fleetSetYaml(flaky, world.platform, machines, BATCH) }, 'app v4');
    expect(await waitFor(() => isQuarantined(world.storeUrl, 'app', flaky), 120_000)).toBe(true);
    const canary = planRollout({ set: 'app', target: flaky, machines, settings: { canary: 1, batchSize: { kind: 'count', count: BATCH } } }).batches[0]?.[0] ?? '';
    await rm(flag);
    expect((await runCli(['unquarantine', 'app', flaky, '--store', world.storeUrl])).code).toBe(0);
    expect((await runCli(['clear', 'app', '--state', join(world.root, 'machines', canary)])).code).toBe(0);
    expect(await waitFor(allOn(flaky), 240_000)).toBe(true);
    expect(maxOverlap(await switchIntervals(fleet, machines, flaky))).toBeLessThanOrEqual(BATCH);
  });
});
