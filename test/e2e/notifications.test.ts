// Notifications with real agent processes, a real signed repo and store, and a real local HTTP receiver:
// one notification per event fleet-wide (claimed in the store), a valid HMAC on every one, a 500 answered
// by a retry, and a receiver that never answers holding no rollout back.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBodySignature, type NotificationEvent } from '../../src/notify/index.js';
import { readBox } from '../../src/notify/outbox.js';
import { rolloutIdFor } from '../../src/rollout/planner.js';
import type { Digest } from '../../src/store/digest.js';
import { createDeployWorld, repoConfigYaml, type DeployWorld } from '../helpers/deploy-world.js';
import { fleetSetYaml, isQuarantined, machineNames, pushFleetPackage, readStatuses, startFleet, waitFor, type Fleet } from '../helpers/fleet.js';
import { startSilentServer, type SilentServer } from '../helpers/silent-server.js';

const SECRET = 'correct horse battery staple';

interface Delivery {
  status: number;
  signature: string | undefined;
  body: Buffer;
  event: NotificationEvent;
}

/** A webhook receiver that answers 500 to the very first request and 200 to every other, recording all. */
async function startReceiver(): Promise<{ url: string; deliveries: Delivery[]; close(): Promise<void> }> {
  const deliveries: Delivery[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const status = deliveries.length === 0 ? 500 : 200;
      const sig = req.headers['x-flotilla-signature'];
      deliveries.push({ status, signature: typeof sig === 'string' ? sig : undefined, body, event: JSON.parse(body.toString('utf8')) as NotificationEvent });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    deliveries,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function notificationsYaml(url: string, timeout: string): string {
  return `notifications:\n  receivers:\n    - name: ops\n      type: webhook\n      url: "${url}"\n      secret: ops-hook\n      timeout: ${timeout}\n`;
}

/** The fleet set with two canaries: both fail a bad digest, and the quarantine is still one event. */
function setYaml(closure: string, platform: string, machines: string[]): string {
  return fleetSetYaml(closure, platform, machines, 1).replace('canary: 1', 'canary: 2');
}

describe('notifications from a fleet of agent processes (directory store)', () => {
  const machines = machineNames(4);
  let world: DeployWorld;
  let fleet: Fleet | undefined;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let silent: SilentServer;
  let repoConfig: string;

  beforeAll(async () => {
    world = await createDeployWorld();
    receiver = await startReceiver();
    silent = await startSilentServer();
    const secretFile = join(world.root, 'hook.secret');
    await writeFile(secretFile, `${SECRET}\n`, { mode: 0o600 });
    repoConfig = repoConfigYaml(world.storeUrl, world.publisherPublic);
    fleet = await startFleet(world, machines, { notificationSecrets: { 'ops-hook': { file: secretFile } } });
  }, 300_000);

  afterAll(async () => {
    await fleet?.stop();
    await receiver?.close();
    await silent?.close();
    await world?.close();
  });

  const allOn = (digest: Digest) => async (): Promise<boolean> => {
    const st = await readStatuses(world.storeUrl, 'app');
    return machines.every((m) => st.get(m)?.currentDigest === digest && st.get(m)?.state === 'Ready');
  };
  const delivered = (): Delivery[] => receiver.deliveries.filter((d) => d.status === 200);
  const has = (kind: string, rollout: string) => (): Promise<boolean> => Promise.resolve(delivered().some((d) => d.event.kind === kind && d.event.rollout === rollout));

  it('sends each event once, signed, retrying a 500; two failed canaries make one quarantine notification', { timeout: 600_000 }, async () => {
    const v1 = await pushFleetPackage(world, 'v1', true);
    const v2 = await pushFleetPackage(world, 'v2', false);
    await world.commit({ 'flotilla.yaml': `${repoConfig}${notificationsYaml(receiver.url, '5s')}`, 'sets/app.yaml': setYaml(v1, world.platform, machines) }, 'app v1, notify ops');
    expect(await waitFor(allOn(v1), 240_000)).toBe(true);
    const r1 = rolloutIdFor('app', v1);
    expect(await waitFor(has('rollout-converged', r1), 120_000)).toBe(true);
    // The first request got a 500; its event came again and was taken.
    const first = receiver.deliveries[0];
    expect(first?.status).toBe(500);
    expect(await waitFor(() => Promise.resolve(delivered().some((d) => d.event.id === first?.event.id)), 120_000)).toBe(true);

    await world.commit({ 'sets/app.yaml': setYaml(v2, world.platform, machines) }, 'app v2 (broken)');
    expect(await waitFor(() => isQuarantined(world.storeUrl, 'app', v2), 240_000)).toBe(true);
    const r2 = rolloutIdFor('app', v2);
    expect(await waitFor(has('digest-quarantined', r2), 120_000)).toBe(true);
    expect(await waitFor(() => Promise.resolve(delivered().filter((d) => d.event.kind === 'machine-rolled-back' && d.event.rollout === r2).length === 2), 120_000)).toBe(true);
    // Both canaries raised the quarantine; wait until neither has it left in its outbox, then count.
    expect(await waitFor(async () => (await Promise.all(machines.map((m) => readBox(world.stateDirOf(m), 'outbox')))).every((b) => b.length === 0), 120_000)).toBe(true);

    const kinds = (rollout: string): string[] => delivered().filter((d) => d.event.rollout === rollout).map((d) => `${d.event.kind}${d.event.batch === undefined ? '' : `.b${d.event.batch}`}`).sort();
    expect(kinds(r1)).toEqual(['batch-ready.b0', 'batch-ready.b1', 'batch-ready.b2', 'rollout-converged', 'rollout-started']);
    expect(kinds(r2)).toEqual(['digest-quarantined', 'machine-rolled-back', 'machine-rolled-back', 'rollout-started']);
    const failed = delivered().filter((d) => d.event.kind === 'machine-rolled-back').map((d) => d.event.machine);
    expect(new Set(failed).size).toBe(2);
    // Exactly one delivery per event id, each signed with the secret over the exact bytes received.
    const ids = delivered().map((d) => d.event.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const d of receiver.deliveries) expect(verifyBodySignature(d.body, Buffer.from(SECRET), d.signature), d.event.id).toBe(true);
    expect(delivered().every((d) => d.event.schema === 'flotilla.event/v1' && d.event.set === 'app')).toBe(true);
  });

  it('a receiver that never answers holds no rollout back: the fleet converges with the events still in the outbox', { timeout: 600_000 }, async () => {
    const v3 = await pushFleetPackage(world, 'v3', true);
    await world.commit({ 'flotilla.yaml': `${repoConfig}${notificationsYaml(`http://127.0.0.1:${silent.port}/hook`, '10m')}`, 'sets/app.yaml': setYaml(v3, world.platform, machines) }, 'app v3, a dead receiver');
    expect(await waitFor(allOn(v3), 240_000)).toBe(true);
    // Every event of the rollout is still waiting for the silent receiver, which never answered one.
    const pending = (await Promise.all(machines.map((m) => readBox(world.stateDirOf(m), 'outbox')))).flat().filter((e) => e.event.rollout === rolloutIdFor('app', v3));
    expect(pending.map((e) => e.event.kind)).toContain('rollout-started');
    expect(pending.length).toBeGreaterThan(0);
    expect(silent.connections()).toBeGreaterThan(0);
    expect(delivered().some((d) => d.event.rollout === rolloutIdFor('app', v3))).toBe(false);
  });
});
