// The next batch does not wait for its own poll: with a poll that never comes during the test, the machines
// of batch 1 tick once at start-up, find the canary working (in its health check), follow it, and switch as
// soon as it turns Ready. Those of batch 2 find the canary working too, two batches ahead with no pace known
// yet: they look again on their own (look-again.ts) until batch 1 works, follow it, and switch after it.
// Real agent processes, a real repo over HTTP, a directory store.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planRollout } from '../../src/rollout/planner.js';
import type { Digest } from '../../src/store/digest.js';
import { createDeployWorld, runCli, type DeployWorld } from '../helpers/deploy-world.js';
import { readStatuses, readSteps, startFleet, waitFor, type Fleet } from '../helpers/fleet.js';

const MACHINES = ['fa', 'fb', 'fc', 'fd', 'fe'];

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

  it('batches 1 and 2 switch after the batch before turns Ready, without a poll in between', { timeout: 300_000 }, async () => {
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
    const stepsOf = async (m: string) => (await readSteps(fleet!.logFile(m))).filter((s) => s.digest === v1);
    const readyAt = async (batch: readonly string[]): Promise<number> => Math.max(...(await Promise.all(batch.map(async (m) => (await stepsOf(m)).find((s) => s.step === 'commit')!.time))));
    const canaryReady = await readyAt(plan.batches[0]!);
    for (const k of [1, 2]) {
      const before = await readyAt(plan.batches[k - 1]!);
      for (const m of plan.batches[k]!) {
        const steps = await stepsOf(m);
        const gates = steps.filter((s) => s.step === 'gate');
        const sw = steps.find((s) => s.step === 'switch')!;
        // It was waiting at the gate before the canary was Ready (its start-up tick), and switched after the batch before.
        expect(gates[0]!.time - gates[0]!.ms).toBeLessThan(canaryReady);
        expect(sw.time - sw.ms).toBeGreaterThan(before);
      }
    }
  });
});
