// One agent per state dir, with real `flotilla agent` processes: the daemon holds STATE/agent.lock for its
// whole life (its tick workers come and go), a second agent (daemon or --once) refuses naming its pid, the
// lock goes on exit, and a lock left by a killed agent does not block the next one.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, createDeployWorld, runCli, type DeployWorld } from '../helpers/deploy-world.js';

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done({ code: child.exitCode, signal: child.signalCode });
    child.once('exit', (code, signal) => done({ code, signal }));
  });
}

async function lockHolderPid(stateDir: string): Promise<number | undefined> {
  const text = await readFile(join(stateDir, 'agent.lock'), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as { pid: number }).pid;
}

const exists = (path: string): Promise<boolean> => stat(path).then(() => true, () => false);

describe('the agent locks its state dir', () => {
  let world: DeployWorld;
  let config: string;
  let stateDir: string;
  const started: ChildProcess[] = [];
  const startDaemon = (): ChildProcess => {
    const c = spawn(process.execPath, [CLI, 'agent', '--config', config], { stdio: 'ignore', env: { ...process.env, FLOTILLA_LOG_LEVEL: 'silent' } });
    started.push(c);
    return c;
  };
  /** The daemon is up once its first tick worker took the lock on the daemon's behalf. */
  const waitUntilLocked = (d: ChildProcess): Promise<true> => waitFor('the daemon to lock the state dir', async () => ((await lockHolderPid(stateDir)) === d.pid ? true : undefined));

  beforeAll(async () => {
    world = await createDeployWorld();
    config = await world.agentConfig('m1', { keepWarm: '1s' });
    stateDir = join(world.root, 'machines', 'm1');
  });
  afterAll(async () => {
    for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await world?.close();
  });

  it('a second agent, --once or daemon, refuses with LockedError naming the holder pid; the lock goes on exit', { timeout: 120_000 }, async () => {
    const first = startDaemon();
    await waitUntilLocked(first);

    const once = await runCli(['agent', '--config', config, '--once', '--json']);
    expect(once.code, once.stderr).toBe(1);
    const body = JSON.parse(once.stdout) as { error: { code: string; message: string; data: { pid: number } } };
    expect(body.error.code).toBe('LockedError');
    expect(body.error.data.pid).toBe(first.pid);
    expect(body.error.message).toContain(`pid ${first.pid}`);

    const second = await runCli(['agent', '--config', config]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`LockedError: state dir ${stateDir} is in use by another flotilla agent: pid ${first.pid}`);

    // The lock names the daemon (the supervisor), not the tick worker that took it: workers retire after
    // keepWarm (1s here) and come back, and the daemon stays the holder all along.
    const again = await runCli(['agent', '--config', config, '--once', '--json']);
    expect((JSON.parse(again.stdout) as { error: { code: string } }).error.code).toBe('LockedError');
    expect(await lockHolderPid(stateDir)).toBe(first.pid);

    first.kill('SIGTERM');
    expect(await exitOf(first)).toEqual({ code: 0, signal: null });
    expect(await exists(join(stateDir, 'agent.lock'))).toBe(false);

    const after = await runCli(['agent', '--config', config, '--once', '--json']);
    expect(after.code, after.stderr).toBe(0);
    expect(await exists(join(stateDir, 'agent.lock'))).toBe(false);
  });

  it('a lock left by a killed agent (kill -9) does not block the next one', { timeout: 120_000 }, async () => {
    const killed = startDaemon();
    await waitUntilLocked(killed);
    killed.kill('SIGKILL');
    await exitOf(killed);
    expect(await lockHolderPid(stateDir)).toBe(killed.pid);

    const next = startDaemon();
    await waitUntilLocked(next);
    next.kill('SIGTERM');
    expect(await exitOf(next)).toEqual({ code: 0, signal: null });
  });
});
