// The worker lifecycle with real tick worker processes (the built dist/ worker, a real config whose repo is
// unreachable, so a tick is quick and fails on its own). No timing: each check waits for the event itself.
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker, type WorkerClient } from '../../src/agent/worker-client.js';
import { startFirstWorker, WorkerLifecycle, type StartWorker } from '../../src/agent/worker-lifecycle.js';
import { makeTempDir } from '../helpers/package-fixtures.js';
import { makeSshKey, writeAllowedSigners } from '../helpers/ssh-keys.js';

const ENTRY = resolve('dist/src/agent/tick-worker-main.js');
const log = pino({ level: 'silent' });

describe('WorkerLifecycle (real worker processes)', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let configPath: string;
  const started: WorkerClient[] = [];
  const inits: Array<{ carry?: unknown }> = [];
  const start: StartWorker = async (init) => {
    inits.push(init as { carry?: unknown });
    const w = await startWorker(init, { entry: ENTRY, env: { ...process.env, FLOTILLA_LOG_LEVEL: 'silent' } });
    started.push(w);
    return w;
  };
  const first = async (): Promise<WorkerClient> => {
    const w = await startFirstWorker(start, { type: 'init', configPath, shownFile: 'agent.json' }, new AbortController().signal);
    if (w === undefined) throw new Error('no first worker');
    return w;
  };

  beforeAll(async () => {
    t = await makeTempDir('flotilla-lifecycle-');
    const signers = join(t.dir, 'allowed_signers');
    await writeAllowedSigners(signers, [await makeSshKey(t.dir, 'release')]);
    configPath = join(t.dir, 'agent.json');
    const config = { machine: 'm1', stateDir: join(t.dir, 'state'), repo: { url: 'http://127.0.0.1:9/deploy.git', branch: 'main' }, trust: { allowedSignersFile: signers }, metrics: { enabled: false } };
    await writeFile(configPath, JSON.stringify(config));
  });
  afterAll(async () => {
    await Promise.all(started.map((w) => w.kill()));
    await t.cleanup();
  });

  it('the first worker\'s config error is thrown unchanged', async () => {
    const bad = join(t.dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ machine: 'm1' }));
    await expect(startFirstWorker(start, { type: 'init', configPath: bad, shownFile: 'bad.json' }, new AbortController().signal)).rejects.toMatchObject({ code: 'ConfigError' });
  });

  it('keeps a live worker, retires an idle one, and starts the next with the carry of the last tick', { timeout: 60_000 }, async () => {
    const w1 = await first();
    const workers = new WorkerLifecycle(w1, { config: w1.config, log, start, busy: () => false, onFatal: () => undefined });
    expect(await workers.acquire()).toBe(w1);
    const reply = await w1.tick();
    expect(reply.report.error?.code).toBe('GitError');
    // A worker retired while idle hands on the sets it recovered: the next one need not look again.
    const carry = { ...reply.carry, recovered: ['web'] };
    workers.remember(carry);
    workers.scheduleRetire(0);
    await w1.exited;
    const w2 = await workers.acquire();
    expect(w2.pid).not.toBe(w1.pid);
    expect(inits.at(-1)?.carry).toEqual(carry);
    await workers.stop();
    expect(w2.alive()).toBe(false);
  });

  it('does not retire a worker while a tick runs, and does once it is idle', { timeout: 60_000 }, async () => {
    const w1 = await first();
    let checks = 0;
    // Busy for the first two looks: the retirement must look a third time before it stops the worker.
    const workers = new WorkerLifecycle(w1, { config: w1.config, log, start, busy: () => ++checks <= 2, onFatal: () => undefined, retireRetryMs: 1 });
    workers.scheduleRetire(0);
    await w1.exited;
    expect(checks).toBe(3);
    await workers.stop();
  });

  it('a kept worker (null) is not retired; holdRetire cancels a countdown', { timeout: 60_000 }, async () => {
    const w1 = await first();
    let checks = 0;
    const workers = new WorkerLifecycle(w1, { config: w1.config, log, start, busy: () => (++checks, false), onFatal: () => undefined });
    workers.scheduleRetire(null);
    workers.scheduleRetire(0);
    workers.holdRetire();
    // A tick's round trip gives the timers every chance to fire.
    await w1.tick();
    expect(checks).toBe(0);
    expect(w1.alive()).toBe(true);
    await workers.stop();
  });

  it('restarts a worker that crashed, and starts none once stopped', { timeout: 60_000 }, async () => {
    const w1 = await first();
    const workers = new WorkerLifecycle(w1, { config: w1.config, log, start, busy: () => false, onFatal: () => undefined });
    workers.remember({ lastStatus: [], reported: [], recovered: ['web'] });
    await w1.kill();
    await expect(w1.tick()).rejects.toMatchObject({ code: 'InternalError' });
    const w2 = await workers.acquire();
    expect(w2.pid).not.toBe(w1.pid);
    // After a crash the next worker recovers every set again (a switch may be pending, a slot left held).
    expect(inits.at(-1)?.carry).toEqual({ lastStatus: [], reported: [] });
    expect((await w2.tick()).report.error?.code).toBe('GitError');
    const count = started.length;
    await workers.stop();
    await expect(workers.acquire()).rejects.toThrow('stopping');
    expect(started.length).toBe(count);
  });
});
