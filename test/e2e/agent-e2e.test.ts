import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeployWorld, runCli, type DeployWorld } from '../helpers/deploy-world.js';
import { findFreePort } from '../../scripts/servers/free-port.js';
import { dataOf } from '../helpers/cli-json.js';

async function get(url: string): Promise<{ status: number; body: string } | null> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return { status: r.status, body: (await r.text()).trim() };
  } catch {
    return null;
  }
}

function setYaml(closure: string, platform: string, port: number, runDir: string): string {
  return `closure: ${closure}
platform: ${platform}
machines: [m1]
rollout:
  batchSize: all
activate:
  command: [svc/bin/activate]
  env:
    SERVICE_PORT: "${port}"
    SERVICE_RUN_DIR: ${runDir}
  timeout: 20s
health:
  http:
    url: http://127.0.0.1:${port}/healthz
  initialDelay: 100ms
  interval: 100ms
  retries: 30
  timeout: 1s
`;
}

interface Report {
  exitCode: number;
  bytesFetched: number;
  outcomes: Array<{ set: string; result: string; reason: string; generation: number | null; current: string | null; message: string }>;
}

describe('agent end to end: signed repo over HTTP, directory store, a real service', () => {
  let world: DeployWorld;
  let port: number;
  let runDir: string;
  let config: string;

  const once = async (): Promise<{ code: number; report: Report }> => {
    const r = await runCli(['agent', '--config', config, '--once', '--json']);
    return { code: r.code, report: dataOf<Report>(r.stdout) };
  };

  beforeAll(async () => {
    world = await createDeployWorld();
    port = await findFreePort();
    runDir = join(world.root, 'run');
    config = await world.agentConfig('m1');
  });

  afterAll(async () => {
    const pid = runDir ? await readFile(join(runDir, 'pid'), 'utf8').catch(() => '') : '';
    if (pid.trim()) {
      try {
        process.kill(Number(pid.trim()), 'SIGTERM');
      } catch {
        // already gone
      }
    }
    await world?.close();
  });

  it('converges on v1, rolls back a failing v2 without retrying it, then converges on v3', { timeout: 600_000 }, async () => {
    const v1 = await world.pushService('v1');
    await world.commit({ 'sets/svc.yaml': setYaml(v1, world.platform, port, runDir) }, 'svc v1');
    const first = await once();
    expect(first.report.outcomes[0]).toMatchObject({ set: 'svc', result: 'converged', current: v1, generation: 1 });
    expect(first.code).toBe(0);
    expect(first.report.bytesFetched).toBeGreaterThan(0);
    expect(await get(`http://127.0.0.1:${port}/`)).toEqual({ status: 200, body: 'v1' });

    const noop = await once();
    expect(noop.code).toBe(0);
    expect(noop.report.outcomes[0]).toMatchObject({ result: 'unchanged', current: v1 });
    expect(noop.report.bytesFetched).toBe(0);

    const v2 = await world.pushService('v2', { failHealth: true });
    await world.commit({ 'sets/svc.yaml': setYaml(v2, world.platform, port, runDir) }, 'svc v2 (broken)');
    const broken = await once();
    expect(broken.code).toBe(1);
    expect(broken.report.outcomes[0]).toMatchObject({ result: 'rolled-back', reason: 'HealthCheckFailed', current: v1, generation: 1 });
    expect(await get(`http://127.0.0.1:${port}/`)).toEqual({ status: 200, body: 'v1' });

    // The bad digest is remembered: the next tick does not switch to it again.
    const again = await once();
    expect(again.code).toBe(1);
    expect(again.report.outcomes[0]).toMatchObject({ result: 'rolled-back', reason: 'RolledBack', current: v1, generation: 1 });
    expect(again.report.outcomes[0]?.message).toContain('not retried');
    expect(await get(`http://127.0.0.1:${port}/`)).toEqual({ status: 200, body: 'v1' });

    const v3 = await world.pushService('v3');
    await world.commit({ 'sets/svc.yaml': setYaml(v3, world.platform, port, runDir) }, 'svc v3');
    const fixed = await once();
    expect(fixed.code).toBe(0);
    expect(fixed.report.outcomes[0]).toMatchObject({ result: 'converged', current: v3, generation: 3 });
    expect(await get(`http://127.0.0.1:${port}/`)).toEqual({ status: 200, body: 'v3' });

    const status = JSON.parse(await readFile(join(world.root, 'machines', 'm1', 'status.json'), 'utf8')) as { sets: Array<{ state: string; currentDigest: string }> };
    expect(status.sets[0]).toMatchObject({ state: 'Ready', currentDigest: v3 });

    // An operator rollback goes to the previously active generation (v1, not the bad v2) and re-runs its
    // own recorded activation and health check; the agent then leaves v3 alone (marked bad by the operator).
    const stateDir = join(world.root, 'machines', 'm1');
    const rb = await runCli(['rollback', 'svc', '--state', stateDir, '--json']);
    expect(rb.code, rb.stderr).toBe(0);
    expect(dataOf(rb.stdout)).toMatchObject({ from: 3, to: 1, markedBad: v3, activated: true });
    expect(await get(`http://127.0.0.1:${port}/`)).toEqual({ status: 200, body: 'v1' });
    const afterRollback = await once();
    expect(afterRollback.report.outcomes[0]).toMatchObject({ result: 'rolled-back', current: v1, generation: 1 });
    expect(await get(`http://127.0.0.1:${port}/`)).toEqual({ status: 200, body: 'v1' });
  });
});
