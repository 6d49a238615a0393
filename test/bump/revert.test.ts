import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectPlatform } from '../../src/declarations/index.js';
import { Reason } from '../../src/status/conditions.js';
import { MACHINE_STATUS_SCHEMA, type MachineState, type MachineStatus } from '../../src/status/machine-status.js';
import { writeMachineStatus } from '../../src/status/status-io.js';
import { writeQuarantine } from '../../src/rollout/quarantine.js';
import type { Digest } from '../../src/store/digest.js';
import { openStore } from '../../src/store/open-store.js';
import { loadCommitTrust } from '../../src/trust/commit-trust.js';
import { verifyCommit } from '../../src/trust/commit-verify.js';
import { createDeployWorld, runCli, type DeployWorld } from '../helpers/deploy-world.js';
import { dataOf } from '../helpers/cli-json.js';

const setYaml = (closure: string): string => `# web
closure: ${closure}
platform: ${detectPlatform()}
machines: [web-1, web-2]
`;

function status(machine: string, current: Digest, desired: Digest, state: MachineState): MachineStatus {
  const now = new Date().toISOString();
  const ready = state === 'Ready' || state === 'RolledBack';
  return {
    schema: MACHINE_STATUS_SCHEMA, machine, set: 'web', desiredDigest: desired, currentDigest: current, generation: 2, commit: null, state,
    conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', reason: state === 'Ready' ? Reason.Succeeded : Reason.RolledBack, message: state, lastTransitionTime: now }],
    rollout: null, reportedAt: now, agentVersion: '0.1.0',
  };
}

describe('flotilla revert', () => {
  let world: DeployWorld;
  let v1: Digest;
  let v2: Digest;
  let v3: Digest;

  beforeAll(async () => {
    world = await createDeployWorld();
    [v1, v2, v3] = [await world.pushService('1.0.0'), await world.pushService('2.0.0'), await world.pushService('3.0.0')];
    await world.commit({ 'sets/web.yaml': setYaml(v1) }, 'web on v1');
    await world.commit({ 'sets/web.yaml': setYaml(v2) }, 'web on v2');
    await world.commit({ 'sets/web.yaml': setYaml(v3) }, 'web on v3 (fails its canary)');
  });
  afterAll(async () => world?.close());

  async function report(...statuses: MachineStatus[]): Promise<void> {
    const store = openStore(world.storeUrl);
    for (const s of statuses) await writeMachineStatus(store, s);
    await store.close();
  }
  const revert = (...extra: string[]): ReturnType<typeof runCli> =>
    runCli(['revert', 'web', '--repo', world.work.dir, '--sign-key', world.signer.privateKeyPath, '--json', ...extra]);

  it('refuses, changing nothing, when no earlier closure runs on every machine', async () => {
    await report(status('web-1', v2, v3, 'Progressing'), status('web-2', v1, v3, 'Ready'));
    const head = await world.work.rev();
    const r = await revert();
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: 'PreconditionFailedError' } });
    expect(r.stderr).toMatch(/--to DIGEST/);
    expect(await world.work.rev()).toBe(head);
  });

  it('picks the newest earlier closure Ready everywhere (a rolled-back canary counts) and signs the commit', async () => {
    await report(status('web-1', v2, v3, 'RolledBack'), status('web-2', v2, v3, 'Ready'));
    const parent = await world.work.rev();
    const r = await revert();
    expect(r.code, r.stderr).toBe(0);
    const out = dataOf<{ commit: string; changes: Array<{ from: string; to: string }>; reason: string }>(r.stdout);
    expect(out.changes).toEqual([{ set: 'web', file: 'sets/web.yaml', from: v3, to: v2 }]);
    expect(out.reason).toBe('last closure Ready on all 2 machine(s)');
    expect(await world.work.rev('HEAD~1')).toBe(parent);
    expect(await readFile(join(world.work.dir, 'sets/web.yaml'), 'utf8')).toBe(setYaml(v2));
    expect(await world.work.git(['log', '-1', '--format=%s'])).toMatch(/^revert web to sha256:[0-9a-f]{12} \(last closure Ready on all 2 machine\(s\)\)/);
    const v = await verifyCommit({ gitdir: world.work.gitdir, oid: out.commit, trust: await loadCommitTrust({ allowedSignersFile: world.allowedSignersFile }) });
    expect(v.signer).toBe(world.signer.principal);
    await world.work.git(['-c', `gpg.ssh.allowedSignersFile=${world.allowedSignersFile}`, 'verify-commit', 'HEAD']);
  });

  it('skips a newer closure that is not Ready everywhere; --to picks any digest', async () => {
    // Now HEAD is v2 again; history (newest first): v2, v3, v2, v1. Only v1 runs on both machines.
    await report(status('web-1', v1, v2, 'Ready'), status('web-2', v1, v2, 'Ready'));
    const r = await revert();
    expect(r.code, r.stderr).toBe(0);
    expect((dataOf<{ changes: Array<{ to: string }> }>(r.stdout)).changes[0]!.to).toBe(v1);
    const to = await revert('--to', v3);
    expect(to.code, to.stderr).toBe(0);
    expect(dataOf(to.stdout)).toMatchObject({ reason: 'chosen with --to', changes: [{ from: v1, to: v3 }] });
  });

  it('--if-quarantined: does nothing while the desired closure is not quarantined, then one signed revert', async () => {
    // HEAD is on v3 (the --to above); both machines run v1.
    const head = await world.work.rev();
    const none = await revert('--if-quarantined');
    expect(none.code, none.stderr).toBe(0);
    expect(dataOf(none.stdout)).toMatchObject({ reverted: false, desired: v3, reason: 'not quarantined' });
    expect(await world.work.rev()).toBe(head);
    expect((await runCli(['revert', 'web', '--repo', world.work.dir, '--if-quarantined', '--sign-key', world.signer.privateKeyPath])).stdout).toMatch(/desired closure sha256:[0-9a-f]{12}\S* is not quarantined; nothing to revert/);

    const store = openStore(world.storeUrl, { writable: true });
    await writeQuarantine(store, 'web', v3, { machine: 'web-1', reason: Reason.HealthCheckFailed, message: 'health check failed', time: new Date().toISOString() });
    await store.close();
    const r = await revert('--if-quarantined');
    expect(r.code, r.stderr).toBe(0);
    const out = dataOf<{ reverted: boolean; commit: string; changes: Array<{ from: string; to: string }>; reason: string }>(r.stdout);
    expect(out).toMatchObject({ reverted: true, changes: [{ from: v3, to: v1 }] });
    expect(out.reason).toMatch(/quarantined after failing on web-1/);
    expect(await world.work.rev('HEAD~1')).toBe(head);
    const v = await verifyCommit({ gitdir: world.work.gitdir, oid: out.commit, trust: await loadCommitTrust({ allowedSignersFile: world.allowedSignersFile }) });
    expect(v.signer).toBe(world.signer.principal);

    // The next scheduled run finds v1 desired and not quarantined: no second commit.
    const again = await revert('--if-quarantined');
    expect(dataOf(again.stdout)).toMatchObject({ reverted: false, desired: v1 });
    expect(await world.work.rev()).toBe(out.commit);
  });
});
