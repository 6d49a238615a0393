import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planRollout } from '../../src/rollout/planner.js';
import { CLI, createDeployWorld, runCli, type DeployWorld } from '../helpers/deploy-world.js';
import { envelopesOf } from '../helpers/cli-json.js';
import { fleetSetYaml, pushFleetPackage, waitFor } from '../helpers/fleet.js';

// `flotilla status --watch --json` is NDJSON: one envelope per change while the set progresses, the result
// (the same envelope as without --watch) last, and the exit code of the result.

describe('status --watch --json', () => {
  let world: DeployWorld;
  beforeAll(async () => {
    world = await createDeployWorld();
  }, 300_000);
  afterAll(async () => world?.close());

  it('streams one envelope line per change, then the converged result, and exits 0', { timeout: 300_000 }, async () => {
    const v1 = await pushFleetPackage(world, 'v1', true);
    await world.commit({ 'sets/app.yaml': fleetSetYaml(v1, world.platform, ['m1', 'm2'], 2) }, 'app v1');
    const [first, second] = planRollout({ set: 'app', target: v1, machines: ['m1', 'm2'], settings: { canary: 1, batchSize: { kind: 'count', count: 2 } } }).order;
    expect((await runCli(['agent', '--config', await world.agentConfig(first!), '--once'])).code).toBe(0);

    const watch = spawn(process.execPath, [CLI, 'status', '--repo', world.work.dir, '--store', world.storeUrl, '--watch', '--interval', '100ms', '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FLOTILLA_LOG_LEVEL: 'silent' },
    });
    let out = '';
    let err = '';
    watch.stdout.on('data', (c: Buffer) => (out += c.toString()));
    watch.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((done) => watch.on('close', done));
    // The first line arrives while the second machine has not reported: progressing.
    expect(await waitFor(() => Promise.resolve(out.includes('\n')), 60_000, 50), err).toBe(true);
    // Several polls pass with nothing changed: still one line.
    await new Promise((r) => setTimeout(r, 1000));
    expect(out.split('\n').filter(Boolean)).toHaveLength(1);

    expect((await runCli(['agent', '--config', await world.agentConfig(second!), '--once'])).code).toBe(0);
    expect(await exited, err).toBe(0);
    const lines = envelopesOf(out);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const l of lines) expect(l).toMatchObject({ ok: true, kind: 'status' });
    expect(lines[0]?.data).toMatchObject({ result: 'progressing', sets: [{ set: 'app' }] });
    expect(lines.at(-1)?.data).toMatchObject({ result: 'converged', sets: [{ set: 'app', readyCount: 2 }] });
    // One line per change: no line repeats the one before it.
    const raw = out.split('\n').filter(Boolean);
    for (let i = 1; i < raw.length; i++) expect(raw[i]).not.toBe(raw[i - 1]);
  });
});
