// Status writes on a meaningful change only (issue 15): a real agent daemon on Ceph RGW, its store requests
// seen on the wire by a recording proxy. Every machine ticks on every commit; a commit that changes nothing
// for one of its sets must not rewrite that set's report (the commit id rides on the next write), while a
// commit to the set itself is written at once. The agent's own status.json still follows the commit.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { localStatusFile } from '../../src/generations/layout.js';
import { CLI, createDeployWorld, type DeployWorld } from '../helpers/deploy-world.js';
import { pushApp, waitForValue } from '../helpers/agent-process.js';
import { startRecordingProxy, type RecordingProxy } from '../helpers/recording-proxy.js';
import { s3TestUrl } from '../helpers/s3-test-store.js';

/** Generous: the suite shares two cores with other work. */
const WAIT = 180_000;

const setYaml = (closure: string, platform: string, machine: string): string =>
  `closure: ${closure}\nplatform: ${platform}\nmachines: [${machine}]\nactivate:\n  command: [app/bin/activate]\n  timeout: 20s\n`;

/** What m1's status.json says: the commit of its last tick and, per set, the digest it runs. */
async function localStatus(world: DeployWorld): Promise<{ commit: string | null; sets: Record<string, string | null> }> {
  try {
    const doc = JSON.parse(await readFile(localStatusFile(world.stateDirOf('m1')), 'utf8')) as { commit: string | null; sets: Array<{ set: string; currentDigest: string | null }> };
    return { commit: doc.commit, sets: Object.fromEntries(doc.sets.map((s) => [s.set, s.currentDigest])) };
  } catch {
    return { commit: null, sets: {} };
  }
}

describe('status reports: written on a change, not on every commit', () => {
  let world: DeployWorld;
  let proxy: RecordingProxy;
  let agent: ChildProcess | undefined;

  beforeAll(async () => {
    proxy = await startRecordingProxy(inject('s3').endpoint);
    // The agent reaches RGW only through the proxy, so every status PUT it makes is on the wire.
    const direct = new URL(await s3TestUrl());
    direct.searchParams.set('endpoint', proxy.url.replace(/\/$/, ''));
    world = await createDeployWorld({ prefix: 'status-writes', storeUrl: direct.toString() });
  });
  afterAll(async () => {
    if (agent && agent.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL');
    await proxy?.close();
    await world?.close();
  });

  it('a commit to another set writes no report of this machine; a commit to one of its sets writes that set\'s only', { timeout: 900_000 }, async () => {
    const v1 = await pushApp(world, 'v1');
    await world.commit({
      'sets/app.yaml': setYaml(v1, world.platform, 'm1'), 'sets/side.yaml': setYaml(v1, world.platform, 'm1'), 'sets/other.yaml': setYaml(v1, world.platform, 'm2'),
    }, 'v1 everywhere');
    // The default heartbeat (10 min) is far beyond this test: every PUT seen is a change.
    const config = await world.agentConfig('m1', { repo: { url: world.repoUrl, branch: 'main', pollInterval: '1s', jitter: '0s' }, keepWarm: '1s' });
    agent = spawn(process.execPath, [CLI, 'agent', '--config', config], { stdio: 'ignore', env: { ...process.env, FLOTILLA_LOG_LEVEL: 'warn' } });
    await waitForValue('m1 on v1 in both sets', async () => { const s = await localStatus(world); return s.sets['app'] === v1 && s.sets['side'] === v1; }, WAIT);
    const statusPuts = (from: number, set: string): string[] => proxy.seen.slice(from).filter((l) => l.startsWith('PUT ') && l.includes(`/status/${set}/m1.json`));
    await waitForValue('both first reports on the wire', () => Promise.resolve(statusPuts(0, 'app').length >= 1 && statusPuts(0, 'side').length >= 1), WAIT);

    // A commit that changes only a set m1 is not in: m1 ticks on it (status.json names it), writes nothing.
    const mark1 = proxy.seen.length;
    const v2 = await pushApp(world, 'v2');
    const c1 = await world.commit({ 'sets/other.yaml': setYaml(v2, world.platform, 'm2') }, 'other set to v2');
    await waitForValue('m1 ticked on the commit to the other set', async () => (await localStatus(world)).commit === c1, WAIT);
    expect(statusPuts(mark1, 'app')).toEqual([]);
    expect(statusPuts(mark1, 'side')).toEqual([]);

    // A commit to one of m1's sets: that report is written (m1 switches it), the other set's is not.
    const mark2 = proxy.seen.length;
    const c2 = await world.commit({ 'sets/side.yaml': setYaml(v2, world.platform, 'm1') }, 'side to v2');
    await waitForValue('m1 on v2 in side', async () => { const s = await localStatus(world); return s.commit === c2 && s.sets['side'] === v2; }, WAIT);
    await waitForValue('the side report on the wire', () => Promise.resolve(statusPuts(mark2, 'side').length >= 1), WAIT);
    expect(statusPuts(mark2, 'app')).toEqual([]);
  });
});
