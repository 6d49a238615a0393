import { readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planRollout } from '../../src/rollout/planner.js';
import type { Digest } from '../../src/store/digest.js';
import { createDeployWorld, runCli, type DeployWorld } from '../helpers/deploy-world.js';
import { isQuarantined, readStatuses } from '../helpers/fleet.js';
import { slotRecords, startAgentOnce, waitForFile } from '../helpers/agent-process.js';

// kill -9 of an agent holding a batch slot mid-activation, then a restart (THREATS "Added in turn 2").
const MACHINES = ['m1', 'm2'];
const SETTINGS = { canary: 1, batchSize: { kind: 'count' as const, count: 1 } };

/** sets/app.yaml; `leases: false` rolls out everywhere at once (no slot). A 5 min lease TTL otherwise. */
function appYaml(closure: Digest, platform: string, leases: boolean): string {
  return `closure: ${closure}
platform: ${platform}
machines: [${MACHINES.join(', ')}]
rollout: ${leases ? '{ canary: 1, batchSize: 1, leaseTtl: 5m }' : '{ batchSize: all }'}
activate:
  command: [app/bin/activate]
  timeout: 120s
health:
  command: [app/bin/health]
  initialDelay: 0ms
  interval: 100ms
  retries: 0
  timeout: 10s
`;
}

describe('a holder killed with kill -9 during activation, then restarted (real agent processes)', () => {
  let world: DeployWorld;
  const stray: number[] = [];

  /**
   * A package whose first activation (on any machine) writes `mark` with its pid and sleeps: the test
   * kills the agent there. Later activations return at once.
   */
  const pushSlowOnce = async (version: string, healthy: boolean): Promise<{ digest: Digest; mark: string }> => {
    const mark = join(world.root, `activating-${version}`);
    const digest = await world.pushPackage('app', {
      VERSION: `${version}\n`,
      'bin/activate+x': `#!/bin/sh\nif [ ! -e '${mark}' ]; then echo $$ > '${mark}'; exec sleep 60; fi\n`,
      'bin/health+x': `#!/bin/sh\nexit ${healthy ? 0 : 1}\n`,
    });
    return { digest, mark };
  };

  /** Runs the canary's agent until its activation starts, then kill -9 (and the orphaned activation). */
  const killDuringActivation = async (machine: string, mark: string): Promise<void> => {
    const run = startAgentOnce(await world.agentConfig(machine));
    expect(await waitForFile(mark, 120_000)).toBe(true);
    run.child.kill('SIGKILL');
    await run.done;
    const pid = Number((await readFile(mark, 'utf8').catch(() => '')).trim());
    if (pid > 0) stray.push(pid);
    for (const p of stray) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };

  const currentDigest = async (machine: string): Promise<string> => {
    const dir = join(world.stateDirOf(machine), 'sets', 'app');
    const origin = JSON.parse(await readFile(join(dir, await readlink(join(dir, 'current')), 'origin.json'), 'utf8')) as { digest: string };
    return origin.digest;
  };

  beforeAll(async () => {
    world = await createDeployWorld();
    const v1 = await world.pushPackage('app', { VERSION: 'v1\n', 'bin/activate+x': '#!/bin/sh\nexit 0\n', 'bin/health+x': '#!/bin/sh\nexit 0\n' });
    await world.commit({ 'sets/app.yaml': appYaml(v1, world.platform, false) }, 'app v1 everywhere');
    for (const m of MACHINES) expect((await runCli(['agent', '--config', await world.agentConfig(m), '--once'])).code).toBe(0);
  });
  afterAll(async () => world?.close());

  it('adopts its slot by CAS, finishes the switch, releases the slot: the next batch does not wait the 5 min TTL', { timeout: 300_000 }, async () => {
    const { digest: v2, mark } = await pushSlowOnce('v2', true);
    await world.commit({ 'sets/app.yaml': appYaml(v2, world.platform, true) }, 'app v2 in batches');
    const [canary, next] = planRollout({ set: 'app', target: v2, machines: MACHINES, settings: SETTINGS }).batches.flat();
    await killDuringActivation(canary!, mark);
    const [held] = await slotRecords(world.storeUrl, 'app');
    expect(held).toMatchObject({ state: 'held', machine: canary });

    const restarted = await startAgentOnce(await world.agentConfig(canary!)).done;
    expect(restarted.code).toBe(0);
    expect(await currentDigest(canary!)).toBe(v2);
    const [after] = await slotRecords(world.storeUrl, 'app');
    expect(after).toMatchObject({ state: 'released', machine: canary });
    expect(after!.holder).not.toBe(held!.holder);
    expect(after!.token).toBeGreaterThan(held!.token);

    // One tick of the next batch's machine: it gets the slot now, or waits (exit 3) for the TTL.
    const nextRun = await startAgentOnce(await world.agentConfig(next!)).done;
    expect(nextRun.code).toBe(0);
    expect(await currentDigest(next!)).toBe(v2);
    expect((await readStatuses(world.storeUrl, 'app')).get(next!)).toMatchObject({ state: 'Ready', currentDigest: v2 });
  });

  it('a health failure found by recovery rolls back AND quarantines the digest fleet-wide, and the report says so', { timeout: 300_000 }, async () => {
    const v2 = await currentDigest(MACHINES[0]!);
    const { digest: bad, mark } = await pushSlowOnce('v3-bad', false);
    await world.commit({ 'sets/app.yaml': appYaml(bad, world.platform, true) }, 'app v3 (broken)');
    const canary = planRollout({ set: 'app', target: bad, machines: MACHINES, settings: SETTINGS }).batches[0]![0]!;
    await killDuringActivation(canary, mark);
    expect(await isQuarantined(world.storeUrl, 'app', bad)).toBe(false);

    const restarted = await startAgentOnce(await world.agentConfig(canary)).done;
    expect(restarted.code).toBe(1);
    expect(await currentDigest(canary)).toBe(v2);
    expect(await isQuarantined(world.storeUrl, 'app', bad)).toBe(true);
    expect((await readStatuses(world.storeUrl, 'app')).get(canary)).toMatchObject({ state: 'RolledBack', currentDigest: v2 });
    const local = JSON.parse(await readFile(join(world.stateDirOf(canary), 'status.json'), 'utf8')) as { sets: Array<{ conditions: Array<{ type: string; reason: string }> }> };
    expect(local.sets[0]?.conditions.find((c) => c.type === 'Ready')).toMatchObject({ reason: 'HealthCheckFailed' });
    // The failed machine keeps its slot: the batch stays blocked.
    expect((await slotRecords(world.storeUrl, 'app')).filter((r) => r.state === 'held').map((r) => r.machine)).toContain(canary);
  });
});
