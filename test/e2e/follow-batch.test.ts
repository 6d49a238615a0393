// The next batch does not wait for its own poll: with a poll that never comes during the test, the machines
// of batch 1 tick once at start-up, find the canary working (in its health check), follow it, and switch as
// soon as it turns Ready. Real agent processes, a real repo over HTTP, a directory store.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planRollout } from '../../src/rollout/planner.js';
import type { Digest } from '../../src/store/digest.js';
import { createDeployWorld, runCli, type DeployWorld } from '../helpers/deploy-world.js';
import { readStatuses, readSteps, startFleet, waitFor, type Fleet } from '../helpers/fleet.js';

const MACHINES = ['fa', 'fb', 'fc'];

async function pushSlowHealth(world: DeployWorld): Promise<Digest> {
  const dir = join(world.root, 'src', 'follow-v1');
  await mkdir(join(dir, 'bin'), { recursive: true });
  await writeFile(join(dir, 'bin', 'activate'), '#!/bin/sh\nexit 0\n');
  await writeFile(join(dir, 'bin', 'health'), '#!/bin/sh\nexit 0\n');
  await chmod(join(dir, 'bin', 'activate'), 0o755);
  await chmod(join(dir, 'bin', 'health'), 0o755);
  const r = await runCli(['push', dir, '--store', world.storeUrl, '--name', 'app', '--sign-key', world.publisherKeyFile]);
  if (r.code !== 0) throw new Error(`push failed: ${r.stderr}`);
  return r.stdout.trim() as Digest;
}

describe('the next batch follows the working batch before it, whatever the poll interval', () => {
  let world: DeployWorld;
  let fleet: Fleet | undefined;
  beforeAll(async () => (world = await createDeployWorld()));
  afterAll(async () => {
    await fleet?.stop();
    await world?.close();
  });

  it('batch 1 switches after the canary turns Ready, without a poll in between', { timeout: 300_000 }, async () => {
    const v1 = await pushSlowHealth(world);
    // The canary stays in its health check for 8 s (longer than a tick used to follow): the followers' only tick (start-up) finds it working.
    const yaml = `closure: ${v1}\nplatform: ${world.platform}\nmachines: [${MACHINES.join(', ')}]\nrollout:\n  canary: 1\n  batchSize: 2\n  leaseTtl: 30s\n` +
      'activate:\n  command: [app/bin/activate]\n  timeout: 20s\nhealth:\n  command: [app/bin/health]\n  initialDelay: 8s\n  interval: 100ms\n  retries: 0\n  timeout: 10s\n';
    await world.commit({ 'sets/app.yaml': yaml }, 'app v1');
    // A poll once a year (1 January, midnight): only the start-up tick and what the agent schedules itself.
    const repo = { url: world.repoUrl, branch: 'main', pollSchedule: '0 0 0 1 1 *', jitter: '0s' };
    fleet = await startFleet(world, MACHINES, { repo });
    const plan = planRollout({ set: 'app', target: v1, machines: MACHINES, settings: { canary: 1, batchSize: { kind: 'count', count: 2 } } });
    const allReady = async (): Promise<boolean> => {
      const st = await readStatuses(world.storeUrl, 'app');
      return MACHINES.every((m) => st.get(m)?.currentDigest === v1 && st.get(m)?.state === 'Ready');
    };
    expect(await waitFor(allReady, 240_000)).toBe(true);
    const canary = plan.batches[0]![0]!;
    const canarySteps = (await readSteps(fleet.logFile(canary))).filter((s) => s.digest === v1);
    const canaryReady = canarySteps.find((s) => s.step === 'commit')!.time;
    for (const m of plan.batches[1]!) {
      const steps = (await readSteps(fleet.logFile(m))).filter((s) => s.digest === v1);
      const gates = steps.filter((s) => s.step === 'gate');
      const sw = steps.find((s) => s.step === 'switch')!;
      // It was waiting at the gate before the canary was Ready (its start-up tick), and switched after.
      expect(gates[0]!.time - gates[0]!.ms).toBeLessThan(canaryReady);
      expect(sw.time - sw.ms).toBeGreaterThan(canaryReady);
    }
  });
});
