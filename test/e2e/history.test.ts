// The deployment log end to end: real agent processes on a real store (a directory and Ceph RGW) switch,
// are paused and resumed, then the canary fails its health check, rolls back and quarantines; the real
// `flotilla history` lists all of it oldest first with commits and closures, verified against the keys the
// machines list in their status, and names a record changed in the store afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planRollout } from '../../src/rollout/planner.js';
import type { Digest } from '../../src/store/digest.js';
import { historyRecordKey } from '../../src/store/keys.js';
import { openStore } from '../../src/store/open-store.js';
import { runCli, worldBackends, type DeployWorld } from '../helpers/deploy-world.js';
import { fleetSetYaml, pushFleetPackage } from '../helpers/fleet.js';
import { dataOf } from '../helpers/cli-json.js';

const MACHINES = ['m1', 'm2'];

interface Listed {
  machine: string;
  seq: number;
  event: string;
  from: string | null;
  to: string | null;
  commit: string | null;
  generation: number | null;
  verified: boolean;
}
interface HistoryJson {
  ok: boolean;
  records: Listed[];
  machines: Array<{ machine: string; key: string | null; head: { seq: number; sha256: string } | null; ok: boolean }>;
  problems: Array<{ kind: string; machine: string; seq: number | null; message: string }>;
}

describe.each(worldBackends('history/'))('flotilla history on the $backend', ({ makeWorld }) => {
  let world: DeployWorld;
  beforeAll(async () => {
    world = await makeWorld();
  }, 300_000);
  afterAll(async () => world?.close());

  const order = (digest: Digest): string[] => planRollout({ set: 'app', target: digest, machines: MACHINES, settings: { canary: 1, batchSize: { kind: 'count', count: 1 } } }).order;
  const once = async (m: string): Promise<number> => (await runCli(['agent', '--config', await world.agentConfig(m), '--once'])).code;
  const history = async (...extra: string[]): Promise<{ code: number; json: HistoryJson; stdout: string; stderr: string }> => {
    const r = await runCli(['history', 'app', '--repo', world.work.dir, '--store', world.storeUrl, '--json', ...extra]);
    return { code: r.code, json: r.stdout === '' ? ({} as HistoryJson) : dataOf<HistoryJson>(r.stdout), stdout: r.stdout, stderr: r.stderr };
  };

  it('logs switch, pause, resume, rollback and quarantine in order, verified; a changed record is named', { timeout: 600_000 }, async () => {
    const v1 = await pushFleetPackage(world, 'v1', true);
    const v2 = await pushFleetPackage(world, 'v2', false);
    const c1 = await world.commit({ 'sets/app.yaml': fleetSetYaml(v1, world.platform, MACHINES, 1) }, 'app v1');
    for (const m of order(v1)) expect(await once(m), m).toBe(0);

    const c2 = await world.commit({ 'sets/app.yaml': fleetSetYaml(v2, world.platform, MACHINES, 1) }, 'app v2 (fails its health check)');
    expect((await runCli(['pause', 'app', '--store', world.storeUrl, '--by', 'alice@ops'])).code).toBe(0);
    for (const m of order(v2)) expect(await once(m), m).toBe(3);
    for (const m of order(v2)) expect(await once(m), m).toBe(3); // still paused: logged once, not per tick
    expect((await runCli(['resume', 'app', '--store', world.storeUrl])).code).toBe(0);
    const [canary, other] = order(v2) as [string, string];
    expect(await once(canary)).toBe(1); // switched, failed health, rolled back, quarantined
    expect(await once(other)).not.toBe(0); // held back by the quarantine

    const h = await history();
    expect(h.code, h.stderr).toBe(0);
    expect(h.json.ok).toBe(true);
    expect(h.json.problems).toEqual([]);
    expect(h.json.machines.map((m) => m.machine)).toEqual(['m1', 'm2']);
    expect(h.json.machines.every((m) => m.key !== null && m.ok)).toBe(true);
    // Each status lists the newest record, so a log cut after it would show as truncated.
    expect(h.json.machines.find((m) => m.machine === canary)?.head?.seq).toBe(5);
    expect(h.json.machines.find((m) => m.machine === other)?.head?.seq).toBe(3);
    const of = (m: string) => h.json.records.filter((r) => r.machine === m).map((r) => ({ event: r.event, from: r.from, to: r.to, commit: r.commit }));
    expect(of(canary)).toEqual([
      { event: 'switch', from: null, to: v1, commit: c1 },
      { event: 'pause', from: v1, to: v2, commit: c2 },
      { event: 'resume', from: v1, to: v2, commit: c2 },
      { event: 'rollback', from: v2, to: v1, commit: c2 },
      { event: 'quarantine', from: v2, to: v1, commit: c2 },
    ]);
    expect(of(other)).toEqual([
      { event: 'switch', from: null, to: v1, commit: c1 },
      { event: 'pause', from: v1, to: v2, commit: c2 },
      { event: 'resume', from: v1, to: v2, commit: c2 },
    ]);
    // Oldest first across machines: both v1 switches come before anything of v2, the rollback before its quarantine.
    const events = h.json.records.map((r) => `${r.machine}:${r.event}`);
    expect(events.slice(0, 2).sort()).toEqual(['m1:switch', 'm2:switch']);
    expect(events.indexOf(`${canary}:rollback`)).toBeLessThan(events.indexOf(`${canary}:quarantine`));
    expect(h.json.records.every((r) => r.verified)).toBe(true);
    expect((await history('--machine', other)).json.records.map((r) => r.machine)).toEqual([other, other, other]);

    const text = await runCli(['history', 'app', '--store', world.storeUrl]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`${canary}#4\\s+rollback\\s+sha256:${v2.slice(7, 19)} -> sha256:${v1.slice(7, 19)}`));
    expect(text.stdout).toContain('every record verified');

    // Somebody with write access to the store rewrites the canary's rollback as a success.
    const store = openStore(world.storeUrl);
    try {
      const key = historyRecordKey('app', canary, 4);
      const r = JSON.parse((await store.getBytes(key, { maxBytes: 65536 })).toString('utf8')) as Record<string, unknown>;
      await store.put(key, Buffer.from(JSON.stringify({ ...r, event: 'switch', reason: 'Succeeded' })));
    } finally {
      await store.close();
    }
    const forged = await history();
    expect(forged.code).toBe(1);
    expect(forged.json.ok).toBe(false);
    // Record 4 no longer verifies, and record 5 (the quarantine) no longer links to what is stored as 4.
    expect(forged.json.problems).toEqual([
      expect.objectContaining({ kind: 'bad-signature', machine: canary, seq: 4 }),
      expect.objectContaining({ kind: 'broken-link', machine: canary, seq: 5 }),
    ]);
    const forgedText = await runCli(['history', 'app', '--store', world.storeUrl]);
    expect(forgedText.code).toBe(1);
    expect(forgedText.stdout).toMatch(new RegExp(`bad-signature ${canary} #4: record 4 of ${canary}: the signature does not verify`));
  });
});
