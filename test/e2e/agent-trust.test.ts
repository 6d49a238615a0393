import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeployWorld, repoConfigYaml, runCli, type DeployWorld } from '../helpers/deploy-world.js';
import { fleetSetYaml, pushFleetPackage } from '../helpers/fleet.js';
import { dataOf } from '../helpers/cli-json.js';

interface Report {
  exitCode: number;
  commit: string | null;
  error?: { code: string; message: string };
  outcomes: Array<{ set: string; result: string; reason: string; current: string | null; generation: number | null }>;
}

// THREATS.md "Trust" rows, end to end through the agent: each refusal happens before any fetch, leaves the
// current generation and the high-water mark alone, and a later good commit is still accepted.
describe('agent refuses untrusted repo states and recovers on a good commit', () => {
  let world: DeployWorld;
  let config: string;
  let stateDir: string;

  const once = async (): Promise<{ code: number; report: Report }> => {
    const r = await runCli(['agent', '--config', config, '--once', '--json']);
    return { code: r.code, report: dataOf<Report>(r.stdout) };
  };
  const mark = async (): Promise<string> => (JSON.parse(await readFile(join(stateDir, 'repo-high-water-mark.json'), 'utf8')) as { commit: string }).commit;

  beforeAll(async () => {
    world = await createDeployWorld();
    config = await world.agentConfig('m1');
    stateDir = join(world.root, 'machines', 'm1');
  });
  afterAll(async () => world?.close());

  it('unsigned, force-pushed back, invalid and expired HEADs change nothing; good commits converge', { timeout: 600_000 }, async () => {
    const v1 = await pushFleetPackage(world, 'v1', true);
    const v2 = await pushFleetPackage(world, 'v2', true);
    const good1 = await world.commit({ 'sets/app.yaml': fleetSetYaml(v1, world.platform, ['m1'], 1) }, 'v1');
    expect((await once()).report.outcomes[0]).toMatchObject({ result: 'converged', current: v1 });
    expect(await mark()).toBe(good1);

    // Unsigned commit setting v2: refused before any fetch.
    await world.work.writeFiles({ 'sets/app.yaml': fleetSetYaml(v2, world.platform, ['m1'], 1) });
    await world.work.commit({ message: 'unsigned v2', sign: null });
    await world.work.pushTo(join(world.root, 'served', 'deploy.git'));
    const unsigned = await once();
    expect(unsigned.code).toBe(1);
    expect(unsigned.report.error?.code).toBe('UntrustedCommitError');
    expect(unsigned.report.outcomes[0]).toMatchObject({ result: 'failed', reason: 'UntrustedCommit', current: v1 });
    expect(await mark()).toBe(good1);
    expect(await readFile(join(stateDir, 'objects', 'sha256', v2.slice(7, 9), v2.slice(7)), 'utf8').catch(() => 'absent')).toBe('absent');

    // A signed v2 on top: accepted.
    const good2 = await world.commit({ 'sets/app.yaml': fleetSetYaml(v2, world.platform, ['m1'], 1) }, 'signed v2');
    expect((await once()).report.outcomes[0]).toMatchObject({ result: 'converged', current: v2 });
    expect(await mark()).toBe(good2);

    // Force-push back to the older, validly signed commit: ancestry refuses it.
    await world.work.setBranch('main', good1);
    await world.work.pushTo(join(world.root, 'served', 'deploy.git'));
    const back = await once();
    expect(back.code).toBe(1);
    expect(back.report.error?.code).toBe('RollbackError');
    expect(back.report.outcomes[0]).toMatchObject({ reason: 'RollbackRefused', current: v2 });

    // Forward again with an invalid declaration: refused with file:line, last good state kept.
    await world.work.setBranch('main', good2);
    await world.commit({ 'sets/app.yaml': 'closure: not-a-digest\nmachines: [m1]\n' }, 'broken yaml');
    const invalid = await once();
    expect(invalid.code).toBe(1);
    expect(invalid.report.error?.code).toBe('DeclarationError');
    expect(invalid.report.error?.message).toMatch(/sets\/app\.yaml:1:\d+/);
    expect(invalid.report.outcomes[0]).toMatchObject({ reason: 'InvalidDeclarations', current: v2 });

    // A signed commit that says the repo expired in the past: Stale, exit 3, nothing changes.
    const expired = `${repoConfigYaml(world.storeUrl, world.publisherPublic)}expires: 2020-01-01T00:00:00Z\n`;
    await world.commit({ 'flotilla.yaml': expired, 'sets/app.yaml': fleetSetYaml(v1, world.platform, ['m1'], 1) }, 'expired');
    const stale = await once();
    expect(stale.code).toBe(3);
    expect(stale.report.outcomes[0]).toMatchObject({ reason: 'RepoStale', current: v2 });

    // A fresh good commit (an old closure again is fine: history moved forward) converges.
    await world.commit({ 'flotilla.yaml': repoConfigYaml(world.storeUrl, world.publisherPublic) }, 'fresh');
    const fixed = await once();
    expect(fixed.code).toBe(0);
    expect(fixed.report.outcomes[0]).toMatchObject({ result: 'converged', current: v1 });

    // A validly signed commit declaring the closure for another platform: refused, nothing fetched or switched.
    const foreign = fleetSetYaml(v2, world.platform, ['m1'], 1).replace(`platform: ${world.platform}`, 'platform: plan9/mips');
    await world.commit({ 'sets/app.yaml': foreign }, 'v2 for another platform');
    const wrong = await once();
    expect(wrong.code).toBe(1);
    expect(wrong.report.outcomes[0]).toMatchObject({ result: 'failed', reason: 'VerificationFailed', current: v1 });
  });

  // Uses m1's state from the test above: a machine that knows its sets and then loses the repo.
  it('an unreachable repo is reported on every set as RepoUnreachable, not as an internal error', { timeout: 120_000 }, async () => {
    const before = await mark();
    const unreachable = await world.agentConfig('m1', { repo: { url: 'http://127.0.0.1:9/deploy.git', branch: 'main', pollSchedule: '*/1 * * * * *', jitter: '0s' } });
    try {
      const r = await once();
      expect(r.code).toBe(1);
      expect(r.report.error?.code).toBe('GitError');
      expect(r.report.outcomes.length).toBeGreaterThan(0);
      for (const o of r.report.outcomes) expect(o).toMatchObject({ result: 'failed', reason: 'RepoUnreachable' });
      expect(await mark()).toBe(before);
    } finally {
      expect(await world.agentConfig('m1')).toBe(unreachable);
    }
  });
});
