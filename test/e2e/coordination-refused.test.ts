import { createRequire } from 'node:module';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/store/s3-store.js';
import { createDeployWorld, runCli, type DeployWorld } from '../helpers/deploy-world.js';
import { fleetSetYaml, pushFleetPackage } from '../helpers/fleet.js';

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
type S3rverClass = new (options: { address: string; port: number; directory: string; silent: boolean }) => S3rverInstance;

// s3rver ignores If-None-Match / If-Match: leases through it would over-commit. The agent must notice at
// start (the precondition probe) and refuse to coordinate a batched rollout, saying why, changing nothing.
describe('a store that ignores preconditions', () => {
  let server: S3rverInstance;
  let dir: string;
  let world: DeployWorld;
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-s3rver-'));
    const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;
    server = new S3rver({ address: '127.0.0.1', port: 0, directory: dir, silent: true });
    const { port } = await server.run();
    const endpoint = `http://127.0.0.1:${port}`;
    process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
    process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
    const admin = createS3Client({ bucket: 'fleet', prefix: '', endpoint, url: endpoint });
    await admin.send(new CreateBucketCommand({ Bucket: 'fleet' }));
    admin.destroy();
    world = await createDeployWorld({ storeUrl: `s3://fleet/?endpoint=${encodeURIComponent(endpoint)}&region=us-east-1&forcePathStyle=true` });
  });

  afterAll(async () => {
    await world?.close();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
    process.env.AWS_ACCESS_KEY_ID = saved.id;
    process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
  });

  it('makes the agent refuse to coordinate a batched rollout, say why, and switch nothing', { timeout: 300_000 }, async () => {
    const v1 = await pushFleetPackage(world, 'v1', true);
    await world.commit({ 'sets/app.yaml': fleetSetYaml(v1, world.platform, ['m1', 'm2', 'm3'], 1) });
    const r = await runCli(['agent', '--config', await world.agentConfig('m1'), '--once', '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { outcomes: Array<{ result: string; reason: string; message: string; generation: number | null }> };
    expect(report.outcomes[0]).toMatchObject({ result: 'failed', reason: 'CoordinationUnsafe', generation: null });
    expect(report.outcomes[0]?.message).toContain('does not honour conditional writes');
  });
});
