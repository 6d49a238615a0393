// `flotilla agent reconcile` and `flotilla agent status` against a real agent daemon (supervisor + tick
// worker processes), a real signed repo over the git http bridge and a real directory store; and the
// webhook's ?wait=1 answer with the tick's result.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, createDeployWorld, runCli, type DeployWorld } from '../helpers/deploy-world.js';
import { fleetSetYaml, pushFleetPackage, waitFor } from '../helpers/fleet.js';
import { dataOf } from '../helpers/cli-json.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((done) => (child.exitCode !== null ? done(child.exitCode) : child.once('exit', (code) => done(code))));
}

interface Json {
  code: number;
  stderr: string;
  json: Record<string, unknown>;
}

describe('agent reconcile / agent status over the control socket', () => {
  let world: DeployWorld;
  let daemon: ChildProcess | undefined;
  beforeAll(async () => {
    world = await createDeployWorld();
  }, 120_000);
  afterAll(async () => {
    if (daemon && daemon.exitCode === null) daemon.kill('SIGKILL');
    await world?.close();
  });

  it('ticks on request and answers with the result; status shows what waits and why; the socket is 0600 and goes with the agent', { timeout: 300_000 }, async () => {
    const stateDir = world.stateDirOf('m1');
    const cli = async (args: string[]): Promise<Json> => {
      const r = await runCli([...args, '--state', stateDir, '--json']);
      return { code: r.code, stderr: r.stderr, json: dataOf<Record<string, unknown> | null>(r.stdout) ?? {} };
    };
    const v1 = await pushFleetPackage(world, 'v1', true);
    const v2 = await pushFleetPackage(world, 'v2', true);
    await world.commit({ 'sets/app.yaml': fleetSetYaml(v1, world.platform, ['m1'], 1) }, 'app v1');

    // No agent yet: reconcile refuses, status says there is nothing.
    const none = await cli(['agent', 'reconcile']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no agent is running on .*no control socket at .*agent\.sock/);
    expect(await cli(['agent', 'status'])).toMatchObject({ code: 1, json: { running: false, sets: [] } });

    const port = await freePort();
    const secretFile = join(world.root, 'hook.secret');
    await writeFile(secretFile, 'hook-secret\n');
    // Polls an hour apart: every tick after the first is one this test asked for.
    const config = await world.agentConfig('m1', {
      repo: { url: world.repoUrl, branch: 'main', pollInterval: '1h', jitter: '0s' },
      webhook: { listen: `127.0.0.1:${port}`, secretFile },
    });
    daemon = spawn(process.execPath, [CLI, 'agent', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, FLOTILLA_LOG_LEVEL: 'info' } });
    daemon.stderr?.pipe(createWriteStream(join(world.root, 'm1.log')));
    const socket = join(stateDir, 'agent.sock');
    expect(await waitFor(async () => (await stat(socket).catch(() => undefined))?.isSocket() === true, 60_000)).toBe(true);
    const st = await stat(socket);
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.uid).toBe(process.getuid!());

    // The start tick converges on v1; status tells it from the socket.
    expect(await waitFor(async () => ((await cli(['agent', 'status'])).json['sets'] as Array<{ currentDigest: string }> | undefined)?.[0]?.currentDigest === v1, 60_000)).toBe(true);

    // A new commit: reconcile returns once the tick that switched to it has ended.
    await world.commit({ 'sets/app.yaml': fleetSetYaml(v2, world.platform, ['m1'], 1) }, 'app v2');
    const now = await cli(['agent', 'reconcile']);
    expect(now.code, now.stderr).toBe(0);
    expect(now.json).toMatchObject({ ok: true, result: 'converged', tick: { exitCode: 0, triggers: ['reconcile'], sets: [{ set: 'app', result: 'converged', generation: 2 }] } });
    const afterTick = JSON.parse(await readFile(join(stateDir, 'status.json'), 'utf8')) as { sets: Array<{ currentDigest: string }> };
    expect(afterTick.sets[0]!.currentDigest).toBe(v2);

    // Paused: the tick waits (exit 3), and status says what for.
    expect((await runCli(['pause', 'app', '--repo', world.work.dir, '--store', world.storeUrl, '--by', 'ops@test'])).code).toBe(0);
    await world.commit({ 'sets/app.yaml': fleetSetYaml(v1, world.platform, ['m1'], 1) }, 'app back to v1');
    const paused = await cli(['agent', 'reconcile']);
    expect(paused.code).toBe(3);
    expect(paused.json).toMatchObject({ result: 'waiting', tick: { sets: [{ result: 'waiting', reason: 'Paused' }] } });
    const live = await cli(['agent', 'status']);
    expect(live.code).toBe(3);
    expect(live.json).toMatchObject({
      running: true,
      agent: { machine: 'm1', version: expect.any(String) as unknown, tickRunning: false, poll: 'every 1h', lastTick: { exitCode: 3, triggers: ['reconcile'] } },
      sets: [{ set: 'app', desiredDigest: v1, currentDigest: v2, generation: 2, state: 'Waiting', reason: 'Paused', waitsFor: 'pause' }],
    });
    expect(Date.parse((live.json['agent'] as { nextPoll: string }).nextPoll)).toBeGreaterThan(Date.now());
    const text = await runCli(['agent', 'status', '--state', stateDir]);
    expect(text.stdout).toMatch(/agent: running, pid \d+/);
    expect(text.stdout).toContain("waits for   an operator's pause (flotilla resume)");

    // Fleet-wide reconcile through the webhook, waiting for the result.
    expect((await runCli(['resume', 'app', '--repo', world.work.dir, '--store', world.storeUrl])).code).toBe(0);
    const body = JSON.stringify({ ref: 'refs/heads/main' });
    const sig = `sha256=${createHmac('sha256', 'hook-secret').update(body).digest('hex')}`;
    const hook = await fetch(`http://127.0.0.1:${port}/hooks/git?wait=1`, { method: 'POST', body, headers: { 'x-flotilla-signature': sig }, signal: AbortSignal.timeout(120_000) });
    expect(hook.status).toBe(200);
    expect(await hook.json()).toMatchObject({ ok: true, tick: { skipped: false, exitCode: 0, summary: { triggers: ['webhook'], sets: [{ result: 'converged', generation: 1 }] } } });
    // Unsigned: no tick, no result.
    expect((await fetch(`http://127.0.0.1:${port}/hooks/git?wait=1`, { method: 'POST', body })).status).toBe(401);

    // Another user may not use the socket, even with the state dir open to it.
    await chmod(world.root, 0o755);
    const nobody = await new Promise<{ code: number | null; stderr: string }>((done) => {
      const c = spawn(process.execPath, [CLI, 'agent', 'reconcile', '--state', stateDir], { uid: 65534, gid: 65534, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      c.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      c.on('exit', (code) => done({ code, stderr }));
    });
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toContain("permission denied; only root or the agent's user may use the agent's control socket");

    // Stopped: the socket is gone, and status reads the state dir alone.
    daemon.kill('SIGTERM');
    expect(await exitOf(daemon)).toBe(0);
    await expect(stat(socket)).rejects.toMatchObject({ code: 'ENOENT' });
    const offline = await cli(['agent', 'status']);
    expect(offline).toMatchObject({ code: 0, json: { running: false, agent: null, sets: [{ set: 'app', currentDigest: v1, generation: 1, state: 'Ready' }] } });
    expect((await runCli(['agent', 'status', '--state', stateDir])).stdout).toMatch(/agent: not running \(no control socket at .*\); showing the state dir as the last tick left it/);
  });
});
