import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeployWorld, runCli, type DeployWorld } from '../helpers/deploy-world.js';
import { fleetSetYaml, pushFleetPackage } from '../helpers/fleet.js';
import { dataOf } from '../helpers/cli-json.js';

interface GcJson {
  store?: { deleted: string[]; roots: string[] };
  state?: { removed: string[]; kept: string[] };
}

describe('flotilla gc on a real store and a real machine state dir', () => {
  let world: DeployWorld;
  beforeAll(async () => {
    world = await createDeployWorld();
  });
  afterAll(async () => world?.close());

  it('keeps every closure the repo named (--repo) and collects the rest; --state keeps current and previous', { timeout: 600_000 }, async () => {
    const config = await world.agentConfig('m1');
    const named: string[] = [];
    for (const v of ['v1', 'v2', 'v3']) {
      const d = await pushFleetPackage(world, v, true);
      named.push(d);
      await world.commit({ 'sets/app.yaml': fleetSetYaml(d, world.platform, ['m1'], 1) }, v);
      expect((await runCli(['agent', '--config', config, '--once'])).code).toBe(0);
    }
    const orphan = await pushFleetPackage(world, 'never-deployed', true);

    const store = dataOf<GcJson>((await runCli(['gc', '--store', world.storeUrl, '--repo', world.work.dir, '--older-than', '0s', '--json'])).stdout);
    expect(store.store?.roots).toEqual(expect.arrayContaining(named));
    expect(store.store?.deleted).toContain(`objects/sha256/${orphan.slice(7, 9)}/${orphan.slice(7)}`);
    for (const d of named) expect(store.store?.deleted).not.toContain(`objects/sha256/${d.slice(7, 9)}/${d.slice(7)}`);
    expect((await runCli(['verify', named[0] ?? '', '--store', world.storeUrl, '--trust', world.publisherPublic])).code).toBe(0);

    const stateDir = join(world.root, 'machines', 'm1');
    const dry = dataOf<GcJson>((await runCli(['gc', '--state', stateDir, '--keep', '1', '--dry-run', '--json'])).stdout);
    expect(dry.state?.removed.some((p) => p.includes('generations/1-'))).toBe(true);
    expect(await readdir(join(stateDir, 'sets', 'app', 'generations'))).toHaveLength(3);
    const real = dataOf<GcJson>((await runCli(['gc', '--state', stateDir, '--keep', '1', '--json'])).stdout);
    expect(real.state?.removed.some((p) => p.includes('generations/1-'))).toBe(true);
    expect((await readdir(join(stateDir, 'sets', 'app', 'generations'))).sort()).toEqual([`2-${named[1]?.slice(7, 19)}`, `3-${named[2]?.slice(7, 19)}`]);
    expect((await runCli(['agent', '--config', config, '--once'])).code).toBe(0);
  });

  it('refuses to run with neither --store nor --state', async () => {
    const r = await runCli(['gc']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--store');
  });
});
