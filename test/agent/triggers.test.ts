import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAgentMetrics } from '../../src/agent/agent-metrics.js';
import { createSingleFlight } from '../../src/agent/single-flight.js';
import { startTriggers, type RunningTriggers, type TriggerConfig } from '../../src/agent/triggers.js';
import { ConfigError } from '../../src/errors/index.js';
import { makeTempDir } from '../activation/proc.js';

const run = promisify(execFile);
const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@e', GIT_CONFIG_GLOBAL: '/dev/null' };

let dir: string;
let cleanup: () => Promise<void>;
let running: RunningTriggers | undefined;

beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir('triggers'));
});
afterEach(async () => {
  await running?.stop();
  running = undefined;
  await cleanup();
});

async function waitFor(predicate: () => boolean, limitMs = 15_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function config(overrides: Partial<TriggerConfig> = {}): TriggerConfig {
  return {
    machine: 'm1',
    repo: { url: 'unused', branch: 'main', pollSchedule: '*/1 * * * * *', pollIntervalMs: 1000, timeZone: 'UTC', jitterMs: 100, auth: {}, timeoutMs: 1000, safetyCheckMs: 60_000, maxFetchBytes: 1 },
    metrics: { enabled: true, listen: { host: '127.0.0.1', port: 0 } },
    ...overrides,
  };
}

describe('startTriggers', () => {
  it('feeds one queue from cron, the repo watch and the webhook, and stop() ends them all', async () => {
    const work = join(dir, 'repo');
    await mkdir(work);
    await run('git', ['init', '-q', '-b', 'main'], { cwd: work, env: gitEnv });
    await run('git', ['commit', '-q', '--allow-empty', '-m', 'one'], { cwd: work, env: gitEnv });
    await writeFile(join(dir, 'secret'), 's3cret-s3cret\n');
    const reasons: string[] = [];
    const queue = createSingleFlight((r) => {
      reasons.push(...r);
      return Promise.resolve();
    });
    running = await startTriggers({
      config: config({ watchPath: work, webhook: { listen: { host: '127.0.0.1', port: 0 }, secretFile: join(dir, 'secret') } }),
      queue,
      metrics: createAgentMetrics(),
    });
    // Webhook and metrics share 127.0.0.1 port 0 here, so one server serves both.
    expect(running.servers).toHaveLength(1);
    const url = running.servers[0]!.url;

    await waitFor(() => reasons.includes('cron'));
    await run('git', ['commit', '-q', '--allow-empty', '-m', 'two'], { cwd: work, env: gitEnv });
    await waitFor(() => reasons.includes('watch'));
    const body = '{"ref":"refs/heads/main"}';
    const sig = createHmac('sha256', 's3cret-s3cret').update(body).digest('hex');
    expect((await fetch(`${url}/hooks/git`, { method: 'POST', body, headers: { 'x-gitea-signature': sig } })).status).toBe(202);
    await waitFor(() => reasons.includes('webhook'));
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${url}/metrics`)).text()).toContain('# TYPE flotilla_ticks_total counter');

    await running.stop();
    running = undefined;
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    await expect(queue.request('late')).resolves.toEqual({ ran: false });
  });

  it('runs one server per distinct listen address', async () => {
    await writeFile(join(dir, 'secret'), 'x'.repeat(32));
    const queue = createSingleFlight(() => Promise.resolve(undefined));
    running = await startTriggers({
      config: config({
        repo: { ...config().repo, pollSchedule: '0 0 1 1 *' },
        webhook: { listen: { host: '127.0.0.1', port: 0 }, secretFile: join(dir, 'secret') },
        metrics: { enabled: true, listen: { host: '127.0.0.2', port: 0 } },
      }),
      queue,
      metrics: createAgentMetrics(),
    });
    expect(running.servers.map((s) => s.host)).toEqual(['127.0.0.1', '127.0.0.2']);
    expect((await fetch(`${running.servers[0]!.url}/metrics`)).status).toBe(404);
    expect((await fetch(`${running.servers[1]!.url}/metrics`)).status).toBe(200);
    expect((await fetch(`${running.servers[1]!.url}/hooks/git`, { method: 'POST', body: '{}' })).status).toBe(404);
  });

  it('refuses a missing or empty secret file and a bad schedule with ConfigError', async () => {
    const queue = createSingleFlight(() => Promise.resolve(undefined));
    const metrics = createAgentMetrics();
    const missing = config({ webhook: { listen: { host: '127.0.0.1', port: 0 }, secretFile: join(dir, 'nope') } });
    await expect(startTriggers({ config: missing, queue, metrics })).rejects.toMatchObject({ code: 'ConfigError', data: { file: join(dir, 'nope') } });
    await writeFile(join(dir, 'empty'), '\n');
    const empty = config({ webhook: { listen: { host: '127.0.0.1', port: 0 }, secretFile: join(dir, 'empty') } });
    await expect(startTriggers({ config: empty, queue, metrics })).rejects.toThrow(/is empty/);
    await expect(startTriggers({ config: config({ repo: { ...config().repo, pollSchedule: 'every minute' } }), queue, metrics })).rejects.toBeInstanceOf(ConfigError);
  });
});
