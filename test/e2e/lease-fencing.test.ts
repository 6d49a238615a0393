import { readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/rollout/clock.js';
import { acquireSlot, LeaseObserver, type Lease } from '../../src/rollout/lease.js';
import { rolloutIdFor } from '../../src/rollout/planner.js';
import type { Digest } from '../../src/store/digest.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { createDeployWorld, runCli, type DeployWorld } from '../helpers/deploy-world.js';
import { machineNames, maxOverlap, readStatuses, readSteps, startFleet, waitFor, type Fleet } from '../helpers/fleet.js';
import { startAgentOnce, waitForFile } from '../helpers/agent-process.js';
import { dataOf } from '../helpers/cli-json.js';

// THREATS "Added in turn 2": a holder paused past its TTL must not switch; machines between "switch" and
// "Ready" never exceed the batch size, even with leases shorter than activation + health.

interface Interval {
  who: string;
  start: number;
  end: number;
}

/** Another machine of the rollout, outside any gate: it takes whatever slot the protocol lets it take. */
function intruderOptions(store: Store, digest: Digest, slots: number, ttlMs: number, observations: LeaseObserver): Parameters<typeof acquireSlot>[0] {
  return { store, set: 'app', rollout: rolloutIdFor('app', digest), slots, machine: 'intruder', holder: `intruder-${process.pid}`, digest, ttlMs, clock: systemClock, observations };
}

describe('the fence on real agent processes', () => {
  let world: DeployWorld;
  let store: Store;

  beforeAll(async () => {
    world = await createDeployWorld();
    store = openStore(world.storeUrl);
  });
  afterAll(async () => {
    await store?.close();
    await world?.close();
  });

  it('a holder stopped (SIGSTOP) in its drain past the TTL, its slot taken, continued (SIGCONT): it does not switch and reports LeaseLost', { timeout: 300_000 }, async () => {
    const mark = join(world.root, 'draining');
    const yaml = (closure: Digest, drain: boolean): string => `closure: ${closure}
platform: ${world.platform}
machines: [m1]
rollout: { canary: 1, batchSize: 1, leaseTtl: 2s }
activate:
  command: [/bin/sh, -c, "exit 0"]
${drain ? `  drain: [/bin/sh, -c, "touch '${mark}'; sleep 1"]\n` : ''}  timeout: 60s
`;
    const pkg = (v: string): Promise<Digest> => world.pushPackage('app', { VERSION: `${v}\n` });
    const v1 = await pkg('v1');
    await world.commit({ 'sets/app.yaml': yaml(v1, false) }, 'v1');
    const config = await world.agentConfig('m1');
    expect((await runCli(['agent', '--config', config, '--once'])).code).toBe(0);
    const currentLink = join(world.stateDirOf('m1'), 'sets', 'app', 'current');
    const before = await readlink(currentLink);

    const v2 = await pkg('v2');
    await world.commit({ 'sets/app.yaml': yaml(v2, true) }, 'v2 with a drain hook');
    const run = startAgentOnce(config);
    expect(await waitForFile(mark, 120_000)).toBe(true);
    run.child.kill('SIGSTOP');
    let taken: Lease | null = null;
    try {
      // The slot is unchanged for a whole TTL on our own clock (the holder is stopped): take it by CAS.
      const observations = new LeaseObserver();
      expect(await waitFor(async () => (taken = await acquireSlot(intruderOptions(store, v2, 1, 2000, observations))) !== null, 60_000, 200)).toBe(true);
    } finally {
      run.child.kill('SIGCONT');
    }
    const { code, stdout } = await run.done;
    expect(code).toBe(3);
    expect(await readlink(currentLink)).toBe(before);
    const report = dataOf<{ outcomes: Array<{ result: string; reason: string; current: string }> }>(stdout);
    expect(report.outcomes[0]).toMatchObject({ result: 'waiting', reason: 'LeaseLost', current: v1 });
    expect((await readStatuses(world.storeUrl, 'app')).get('m1')).toMatchObject({ state: 'Waiting', currentDigest: v1 });
    // The new holder is unharmed.
    await (taken as Lease | null)?.renew();
  });

  it('2 s leases, 5 s health checks, 4 agents in batches of 2, plus an ungated contender: never more than 2 between switch and Ready', { timeout: 600_000 }, async () => {
    const machines = machineNames(4);
    const BATCH = 2;
    const v = await world.pushPackage('app', {
      VERSION: 'fleet\n',
      'bin/activate+x': '#!/bin/sh\nsleep 0.2\n',
      'bin/health+x': '#!/bin/sh\nsleep 5\n',
    });
    await world.commit({
      'sets/app.yaml': `closure: ${v}
platform: ${world.platform}
machines: [${machines.join(', ')}]
rollout: { canary: 1, batchSize: ${BATCH}, leaseTtl: 2s }
activate:
  command: [app/bin/activate]
  timeout: 30s
health:
  command: [app/bin/health]
  initialDelay: 0ms
  interval: 100ms
  retries: 0
  timeout: 30s
`,
    }, 'fleet with 5 s health checks');
    // The contender takes any slot it may (released, or unchanged for a TTL), holds it 1 s, gives it back.
    const held: Interval[] = [];
    let stop = false;
    const observations = new LeaseObserver();
    const contender = (async () => {
      while (!stop) {
        const lease = await acquireSlot(intruderOptions(store, v, BATCH, 2000, observations)).catch(() => null);
        if (lease !== null) {
          const start = Date.now();
          await new Promise((r) => setTimeout(r, 1000));
          held.push({ who: 'contender', start, end: Date.now() });
          await lease.release().catch(() => undefined);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    let fleet: Fleet | undefined;
    try {
      fleet = await startFleet(world, machines);
      const allReady = async (): Promise<boolean> => {
        const st = await readStatuses(world.storeUrl, 'app');
        return machines.every((m) => st.get(m)?.currentDigest === v && st.get(m)?.state === 'Ready');
      };
      expect(await waitFor(allReady, 400_000)).toBe(true);
    } finally {
      stop = true;
      await contender;
      await fleet?.stop();
    }
    const intervals: Interval[] = [...held];
    for (const m of machines) {
      const steps = (await readSteps(fleet.logFile(m))).filter((s) => s.digest === v);
      const sw = steps.find((s) => s.step === 'switch');
      const commit = steps.find((s) => s.step === 'commit');
      expect(sw && commit, `${m} switched and committed`).toBeTruthy();
      intervals.push({ who: m, start: sw!.time - sw!.ms, end: commit!.time });
    }
    expect(maxOverlap(intervals)).toBeLessThanOrEqual(BATCH);
    // Nobody lost a slot while switching: every machine reports a plain Ready.
    for (const m of machines) {
      const log = await readFile(fleet.logFile(m), 'utf8');
      expect(log, m).not.toContain('lease renewal failed');
    }
  });
});
