// The head pointer with real agent processes: a signed repo over the git http-backend bridge, a directory
// store, and the pointer read over HTTP through a recording proxy (so every pointer request is seen on the
// wire), the git bridge's own request count for git. An unchanged pointer costs one 304 and no git request;
// a pointer naming an unsigned, unknown or older commit costs one git head check and changes nothing; a
// pointer that stops moving while git moves is caught by the safety check.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../scripts/servers/free-port.js';
import { encodeHeadPointer } from '../../src/store/head-pointer.js';
import { headPointerKey } from '../../src/store/keys.js';
import { openStore } from '../../src/store/open-store.js';
import { CLI, createDeployWorld, repoConfigYaml, runCli, type DeployWorld } from '../helpers/deploy-world.js';
import { startHttpStoreServer, type HttpStoreServer } from '../helpers/http-store-server.js';
import { startRecordingProxy, type RecordingProxy } from '../helpers/recording-proxy.js';
import { dataOf } from '../helpers/cli-json.js';
import { pushApp, waitForValue } from '../helpers/agent-process.js';

const SET = 'app';



const setYaml = (closure: string, platform: string): string =>
  `closure: ${closure}\nplatform: ${platform}\nmachines: [m1, m2, m3]\nrollout:\n  batchSize: all\nactivate:\n  command: [app/bin/activate]\n  timeout: 20s\n`;

/** The agent's counters, by series text (`name{labels}`), from its metrics port. */
async function metrics(port: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    for (const line of text.split('\n')) {
      const m = /^(flotilla_[a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+)$/.exec(line);
      if (m) out.set(m[1]!, Number(m[2]));
    }
  } catch {
    // not listening yet
  }
  return out;
}

const POINTER = (result: string): string => `flotilla_head_reads_total{source="pointer",result="${result}"}`;
const GIT = (result: string): string => `flotilla_head_reads_total{source="git",result="${result}"}`;
const sum = (m: Map<string, number>, prefix: string): number => [...m].filter(([k]) => k.startsWith(prefix)).reduce((a, [, v]) => a + v, 0);

describe('head pointer: real agents poll it, and it is only ever a hint', () => {
  let world: DeployWorld;
  let http: HttpStoreServer;
  let proxy: RecordingProxy;
  const started: ChildProcess[] = [];

  const startAgent = async (machine: string, safetyCheck: string, statusHeartbeat?: string): Promise<{ child: ChildProcess; port: number }> => {
    const port = await findFreePort();
    const config = await world.agentConfig(machine, {
      repo: { url: world.repoUrl, branch: 'main', pollInterval: '1s', jitter: '0s', safetyCheck },
      metrics: { enabled: true, listen: `127.0.0.1:${port}` },
      keepWarm: '1s',
      ...(statusHeartbeat !== undefined ? { statusHeartbeat } : {}),
    });
    const child = spawn(process.execPath, [CLI, 'agent', '--config', config], { stdio: 'ignore' });
    started.push(child);
    return { child, port };
  };
  const stop = async (child: ChildProcess): Promise<void> => {
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGTERM');
    await exited;
  };
  const generation = async (port: number): Promise<number | undefined> => (await metrics(port)).get(`flotilla_current_generation{set="${SET}"}`);
  const publish = (): Promise<{ code: number; stdout: string; stderr: string }> =>
    runCli(['head', 'publish', '--repo', world.repoUrl, '--store', world.storeUrl, '--trust-file', world.allowedSignersFile, '--writer', 'ci', '--json']);
  const writePointer = async (commit: string): Promise<void> => {
    const store = openStore(world.storeUrl);
    await store.put(headPointerKey('main'), encodeHeadPointer({ branch: 'main', commit, writtenAt: new Date().toISOString(), writer: 'test' }));
    await store.close();
  };
  const pointerAnswers = (from: number): { status: number; bytes: number }[] => proxy.answers.slice(from).filter((a) => a.request.includes('heads/main.json'));

  beforeAll(async () => {
    world = await createDeployWorld({ prefix: 'pointer' });
    http = await startHttpStoreServer(world.storeUrl);
    proxy = await startRecordingProxy(http.url);
  });
  afterAll(async () => {
    for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await proxy?.close();
    await http?.close();
    await world?.close();
  });

  it('an unchanged pointer costs one 304 and no git request; bad pointers change nothing; a moved pointer is followed', { timeout: 240_000 }, async () => {
    const init = (await runCli(['head', 'show', '--store', world.storeUrl, '--json'])).code;
    expect(init).toBe(1); // no pointer yet
    const pointerYaml = `headPointer:\n  enabled: true\n  store: "${proxy.url}"\n`;
    const v1 = await pushApp(world, 'v1');
    const c1 = await world.commit({ 'flotilla.yaml': repoConfigYaml(world.storeUrl, world.publisherPublic) + pointerYaml, [`sets/${SET}.yaml`]: setYaml(v1, world.platform) }, 'app v1, pointer on');
    const pub = await publish();
    expect(pub.code, pub.stderr).toBe(0);
    expect(dataOf(pub.stdout)).toMatchObject({ outcome: 'written', commit: c1, previous: null });

    const { child, port } = await startAgent('m1', '1h');
    await waitForValue('convergence on v1', async () => (await generation(port)) === 1);
    await waitForValue('a first pointer read', async () => sum(await metrics(port), 'flotilla_head_reads_total{source="pointer"') >= 1);

    // Idle: the pointer answers 304 with no body, and git is not asked at all.
    const m0 = await metrics(port);
    const git0 = world.git.requests();
    const wire0 = proxy.answers.length;
    await waitForValue('three 304 polls', async () => ((await metrics(port)).get(POINTER('not_modified')) ?? 0) >= (m0.get(POINTER('not_modified')) ?? 0) + 3);
    expect(world.git.requests()).toBe(git0);
    // The proxy logs an answer when its body has been relayed, which can be after the agent counted it.
    const idle = await waitForValue('three pointer answers on the wire', () => Promise.resolve(pointerAnswers(wire0).length >= 3 ? pointerAnswers(wire0) : undefined), 10_000);
    expect(idle.every((a) => a.status === 304 && a.bytes === 0)).toBe(true);
    const ticks = sum(await metrics(port), 'flotilla_ticks_total');

    // Pointers naming an unsigned commit (on a side branch of the served repo), an unknown commit, and an
    // older commit: each costs one git head check that finds main where it was, and nothing runs.
    const unsigned = await world.work.commit({ files: { 'notes.txt': 'unsigned\n' }, sign: null, message: 'unsigned' });
    await world.work.pushTo(world.bareDir, 'side', 'main');
    await world.work.git(['reset', '-q', '--hard', c1]);
    for (const bad of [unsigned, 'f'.repeat(40), await world.work.rev(`${c1}~1`)]) {
      const before = await metrics(port);
      const gitBefore = world.git.requests();
      await writePointer(bad);
      await waitForValue(`a git check after the pointer moved to ${bad}`, async () => ((await metrics(port)).get(GIT('unchanged')) ?? 0) > (before.get(GIT('unchanged')) ?? 0));
      // Once judged, the bad pointer is quiet again: further polls are 304s, with no more git.
      await waitForValue('a 304 after it', async () => ((await metrics(port)).get(POINTER('not_modified')) ?? 0) > (before.get(POINTER('not_modified')) ?? 0) + 1);
      expect(world.git.requests() - gitBefore).toBe(1);
      expect(await generation(port)).toBe(1);
      expect(sum(await metrics(port), 'flotilla_ticks_total')).toBe(ticks);
    }
    // The writer moves an older pointer forward, refuses to replace one naming a commit main does not
    // descend from (unknown to git, a force-push) without --force, and replaces it with it.
    expect(dataOf((await publish()).stdout)).toMatchObject({ outcome: 'written', commit: c1 });
    expect(dataOf((await publish()).stdout)).toMatchObject({ outcome: 'unchanged', commit: c1 });
    await writePointer('f'.repeat(40));
    const refused = await publish();
    expect(refused.code).toBe(1);
    expect(refused.stderr + refused.stdout).toContain('RollbackError');
    const forced = await runCli(['head', 'publish', '--repo', world.repoUrl, '--store', world.storeUrl, '--trust-file', world.allowedSignersFile, '--force', '--json']);
    expect(forced.code, forced.stderr).toBe(0);

    // A new signed commit, published: the agent follows the pointer to git and converges on it.
    const v2 = await pushApp(world, 'v2');
    const c2 = await world.commit({ [`sets/${SET}.yaml`]: setYaml(v2, world.platform) }, 'app v2');
    expect(dataOf((await publish()).stdout)).toMatchObject({ outcome: 'written', commit: c2, previous: c1 });
    await waitForValue('convergence on v2', async () => (await generation(port)) === 2);
    await stop(child);
  });

  it('heartbeat ticks ask git nothing (the poll reads no head, the tick syncs from its cache on the known commit)', { timeout: 240_000 }, async () => {
    const { child, port } = await startAgent('m3', '1h', '2s');
    await waitForValue('convergence of m3', async () => (await generation(port)) !== undefined);
    await waitForValue('a 304 poll', async () => ((await metrics(port)).get(POINTER('not_modified')) ?? 0) >= 1);
    const git0 = world.git.requests();
    const ticks0 = sum(await metrics(port), 'flotilla_ticks_total');
    await waitForValue('two heartbeat ticks', async () => sum(await metrics(port), 'flotilla_ticks_total') >= ticks0 + 2);
    expect(world.git.requests()).toBe(git0);
    await stop(child);
  });

  it('a pointer that stops moving while git moves is caught by the safety check', { timeout: 240_000 }, async () => {
    const { child, port } = await startAgent('m2', '3s');
    await waitForValue('convergence of m2', async () => (await generation(port)) === 1);
    await waitForValue('a 304 poll', async () => ((await metrics(port)).get(POINTER('not_modified')) ?? 0) >= 1);
    // git moves, the pointer does not (CI did not run): only the safety check can see it.
    const v3 = await pushApp(world, 'v3');
    await world.commit({ [`sets/${SET}.yaml`]: setYaml(v3, world.platform) }, 'app v3, pointer not published');
    await waitForValue('convergence on v3 through the safety check', async () => (await generation(port)) === 2);
    expect((await metrics(port)).get(GIT('moved')) ?? 0).toBeGreaterThanOrEqual(1);
    await stop(child);
  });
});
