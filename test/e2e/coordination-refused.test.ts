import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeployWorld, runCli, type DeployWorld } from '../helpers/deploy-world.js';
import { fleetSetYaml, pushFleetPackage } from '../helpers/fleet.js';
import { startS3rverBucket, type S3rverBucket } from '../helpers/s3rver.js';
import { dataOf } from '../helpers/cli-json.js';


// s3rver ignores If-None-Match / If-Match: leases through it would over-commit. The agent must notice at
// start (the precondition probe) and refuse to coordinate a batched rollout, saying why, changing nothing.
describe('a store that ignores preconditions', () => {
  let s3rver: S3rverBucket;
  let world: DeployWorld;
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };

  beforeAll(async () => {
    s3rver = await startS3rverBucket('fleet');
    world = await createDeployWorld({ storeUrl: s3rver.storeUrl });
  });

  afterAll(async () => {
    await world?.close();
    await s3rver?.close();
    process.env.AWS_ACCESS_KEY_ID = saved.id;
    process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
  });

  it('makes the agent refuse to coordinate a batched rollout, say why, and switch nothing', { timeout: 300_000 }, async () => {
    const v1 = await pushFleetPackage(world, 'v1', true);
    await world.commit({ 'sets/app.yaml': fleetSetYaml(v1, world.platform, ['m1', 'm2', 'm3'], 1) });
    const r = await runCli(['agent', '--config', await world.agentConfig('m1'), '--once', '--json']);
    expect(r.code).toBe(1);
    const report = dataOf<{ outcomes: Array<{ result: string; reason: string; message: string; generation: number | null }> }>(r.stdout);
    expect(report.outcomes[0]).toMatchObject({ result: 'failed', reason: 'CoordinationUnsafe', generation: null });
    expect(report.outcomes[0]?.message).toContain('does not honour conditional writes');
  });
});
