// repo.testingBranch with real agent processes, a signed repo served by the git http bridge and a
// directory store: testing/<machine> runs ahead of main on that machine only, is signed and ratcheted like
// main, is ignored when it does not contain main's head, and the machine falls back to main when it goes.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Digest } from '../../src/store/digest.js';
import { createDeployWorld, runCli, type DeployWorld } from '../helpers/deploy-world.js';
import { fleetSetYaml, pushFleetPackage } from '../helpers/fleet.js';
import { dataOf } from '../helpers/cli-json.js';
import { planRollout } from '../../src/rollout/planner.js';

describe('repo.testingBranch: testing/<machine> ahead of main', () => {
  let world: DeployWorld;
  beforeAll(async () => {
    world = await createDeployWorld();
  }, 120_000);
  afterAll(async () => world?.close());

  const setFile = (d: Digest): Record<string, string> => ({ 'sets/app.yaml': fleetSetYaml(d, world.platform, ['m1', 'm2'], 2).replace('canary: 1', 'canary: 0') });
  const configOf = async (m: string, testing: boolean): Promise<string> => world.agentConfig(m, { repo: { url: world.repoUrl, branch: 'main', jitter: '0s', ...(testing ? { testingBranch: true } : {}) } });
  const once = async (m: string, testing: boolean): Promise<{ code: number; commit: string | null; current: string | null; reason: string | undefined }> => {
    const r = await runCli(['agent', '--config', await configOf(m, testing), '--once', '--json']);
    const report = dataOf<{ commit: string | null; outcomes: Array<{ current: string | null; reason: string }>; error?: { code: string } }>(r.stdout);
    return { code: r.code, commit: report.commit, current: report.outcomes[0]?.current ?? null, reason: report.error?.code ?? report.outcomes[0]?.reason };
  };
  const onTesting = async (files: Record<string, string>, signed = true): Promise<string> => {
    await world.work.git(['checkout', '-q', 'testing/m1']);
    const oid = await world.work.commit({ files, ...(signed ? { sign: { ssh: world.signer } } : {}), message: 'try on m1' });
    await world.work.pushTo(world.bareDir, 'testing/m1');
    await world.work.git(['checkout', '-q', 'main']);
    return oid;
  };
  const branchFrom = async (base: string): Promise<void> => {
    await world.work.git(['branch', '-f', 'testing/m1', base]);
  };

  it('follows, refuses, ignores and falls back as documented', { timeout: 600_000 }, async () => {
    const [v1, v2, v3, v4] = [await pushFleetPackage(world, 'v1', true), await pushFleetPackage(world, 'v2', true), await pushFleetPackage(world, 'v3', true), await pushFleetPackage(world, 'v4', true)];
    const main1 = await world.commit(setFile(v1), 'app v1');
    expect(await once('m1', true)).toMatchObject({ code: 0, commit: main1, current: v1 });

    // testing/m1 = main + v2: m1 runs it, m2 (not opted in) stays on main.
    await branchFrom(main1);
    const t1 = await onTesting(setFile(v2));
    expect(await once('m1', true)).toMatchObject({ code: 0, commit: t1, current: v2 });
    expect(await once('m2', false)).toMatchObject({ code: 0, commit: main1, current: v1 });
    const mark = JSON.parse(await readFile(join(world.stateDirOf('m1'), 'repo-high-water-mark.testing.json'), 'utf8')) as { commit: string; branch: string };
    expect(mark).toMatchObject({ commit: t1, branch: 'testing/m1' });

    // Unsigned on top: refused like on main, and m1 keeps running v2.
    await onTesting(setFile(v3), false);
    expect(await once('m1', true)).toMatchObject({ code: 1, current: v2, reason: 'UntrustedCommitError' });

    // Force-pushed to a signed sibling of the unmerged t1: the branch's own ratchet refuses it.
    await branchFrom(main1);
    await onTesting(setFile(v3));
    expect(await once('m1', true)).toMatchObject({ code: 1, current: v2, reason: 'RollbackError' });

    // Deleted: back to main, and the testing mark is gone.
    await world.work.git(['push', '-q', world.bareDir, ':refs/heads/testing/m1']);
    expect(await once('m1', true)).toMatchObject({ code: 0, commit: main1, current: v1 });
    await expect(stat(join(world.stateDirOf('m1'), 'repo-high-water-mark.testing.json'))).rejects.toMatchObject({ code: 'ENOENT' });

    // A testing branch that does not contain main's head is ignored: the machine follows main.
    const main2 = await world.commit(setFile(v4), 'app v4');
    await branchFrom(main1);
    await onTesting(setFile(v3));
    expect(await once('m1', true)).toMatchObject({ code: 0, commit: main2, current: v4 });

    // Merged into main, the experiment's mark no longer binds: a new testing branch from main is followed.
    await branchFrom(main2);
    const t2 = await onTesting(setFile(v2));
    expect(await once('m1', true)).toMatchObject({ code: 0, commit: t2, current: v2 });
    await world.work.git(['merge', '-q', '--ff-only', 'testing/m1']);
    await world.work.pushTo(world.bareDir);
    await branchFrom(t2);
    const t3 = await onTesting(setFile(v3));
    expect(await once('m1', true)).toMatchObject({ code: 0, commit: t3, current: v3 });
  });

  it('a machine of a later batch tries its testing branch alone, without waiting for the batches before it', { timeout: 600_000 }, async () => {
    // A fresh set so the rollouts of the test above do not matter: three machines, canary 1, batches of 1.
    const machines = ['t1', 't2', 't3'];
    const yaml = (d: Digest): Record<string, string> => ({ 'sets/trial.yaml': fleetSetYaml(d, world.platform, machines, 1) });
    const [w1, w2] = [await pushFleetPackage(world, 'w1', true), await pushFleetPackage(world, 'w2', true)];
    const main1 = await world.commit(yaml(w1), 'trial w1');
    const orderOf = (d: Digest): string[] => planRollout({ set: 'trial', target: d, machines, settings: { canary: 1, batchSize: { kind: 'count', count: 1 } } }).order;
    const order = orderOf(w1);
    // The machine the main branch would move last to w2: two batches would have to go before it.
    const last = orderOf(w2)[machines.length - 1]!;
    const run = async (m: string, testing: boolean): Promise<{ code: number; commit: string | null; outcome: { current: string | null; reason: string } | undefined }> => {
      const config = await world.agentConfig(m, { repo: { url: world.repoUrl, branch: 'main', jitter: '0s', ...(testing ? { testingBranch: true } : {}) } });
      const r = await runCli(['agent', '--config', config, '--once', '--json']);
      const report = dataOf<{ commit: string | null; outcomes: Array<{ set: string; current: string | null; reason: string }> }>(r.stdout);
      return { code: r.code, commit: report.commit, outcome: report.outcomes.find((o) => o.set === 'trial') };
    };
    for (const m of order) expect(await run(m, false), m).toMatchObject({ code: 0, outcome: { current: w1 } });

    // testing/<last> = main + w2: the last machine of the plan runs w2 at once; the canary stays on w1.
    await world.work.git(['branch', '-f', `testing/${last}`, main1]);
    await world.work.git(['checkout', '-q', `testing/${last}`]);
    const trial = await world.work.commit({ files: yaml(w2), sign: { ssh: world.signer }, message: `try w2 on ${last}` });
    await world.work.pushTo(world.bareDir, `testing/${last}`);
    await world.work.git(['checkout', '-q', 'main']);
    expect(await run(last, true)).toMatchObject({ code: 0, commit: trial, outcome: { current: w2, reason: 'Succeeded' } });
    expect(await run(order[0]!, false)).toMatchObject({ code: 0, commit: main1, outcome: { current: w1 } });
  });
});
