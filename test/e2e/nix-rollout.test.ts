// A full rollout from a Nix binary cache (nix+file://, nix+http://, then nix+s3:// on Ceph RGW) with real agent
// processes: 3 machines, canary 1 then a batch of 2, each unpacking into its own chroot root. v1 then v2 (Nix
// closures built and signed by real Nix); a v3 whose health check fails is rolled back on the canary and
// quarantined while the others keep v2; `flotilla revert` puts the set back on v2; a cache with one NAR byte
// flipped is refused, naming the path.
import { readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNarInfo, parseStorePath } from '../../src/nix/index.js';
import { planRollout } from '../../src/rollout/planner.js';
import { readSetStatuses } from '../../src/status/status-io.js';
import { openStore } from '../../src/store/open-store.js';
import type { Digest } from '../../src/store/digest.js';
import { createDeployWorld, runCli, type DeployWorld } from '../helpers/deploy-world.js';
import { isQuarantined, machineNames, readStatuses, readSteps, startFleet, waitFor, type Fleet } from '../helpers/fleet.js';
import { startHttpStoreServer, type HttpStoreServer } from '../helpers/http-store-server.js';
import { buildNixClosure, nixDump, publishNixCache, type NixClosureFixture } from '../helpers/nix-closure.js';
import { overwriteS3Object, uploadNixCacheToS3 } from '../helpers/nix-s3-cache.js';
import { s3TestUrl } from '../helpers/s3-test-store.js';
import { dataOf } from '../helpers/cli-json.js';

const machines = machineNames(3);
const OK = { activate: '#!/bin/sh\nexit 0\n', health: '#!/bin/sh\nexit 0\n' };

function setYaml(closure: string, platform: string): string {
  return `closure: ${closure}
platform: ${platform}
machines: [${machines.join(', ')}]
rollout:
  canary: 1
  batchSize: 2
  leaseTtl: 30s
activate:
  command: [out/bin/activate]
  timeout: 20s
health:
  command: [out/bin/health]
  initialDelay: 100ms
  interval: 100ms
  retries: 0
  timeout: 5s
`;
}

// Each cache is published by `nix copy --to file://` into a local tree; the HTTP variant serves that tree, the
// S3 variant uploads it to a fresh RGW bucket (Debian's Nix 2.8 cannot write s3:// itself). The file and HTTP
// variants coordinate through a directory store; the S3 variant through a second RGW bucket, so its agents
// read and write nothing on the local disk but their own state dirs and Nix roots.
const CACHES = [
  { kind: 'a directory cache (nix+file://)', transport: 'file' },
  { kind: "an HTTP cache (nix+http://, the project's static server)", transport: 'http' },
  { kind: 'an S3 cache on Ceph RGW (nix+s3://BUCKET?endpoint=…)', transport: 's3' },
] as const;

describe.each(CACHES)('rollout from $kind: 3 agent processes, canary + batch, quarantine, revert, tampered cache', ({ transport }) => {
  let world: DeployWorld;
  let fleet: Fleet;
  let server: HttpStoreServer | undefined;
  let s3Cache: string | undefined;
  let cacheDir: string;
  const fx: NixClosureFixture[] = [];
  const rootOf = (m: string): string => join(world.root, 'roots', m);

  beforeAll(async () => {
    world = await createDeployWorld({ prefix: 'nixroll', ...(transport === 's3' ? { storeUrl: await s3TestUrl('coordination/') } : {}) });
    const v1 = await buildNixClosure(world.root, [{ name: 'roll-lib' }], undefined, undefined, OK);
    const key = { secretKeyFile: v1.secretKeyFile, publicKey: v1.publicKey };
    fx.push(v1);
    fx.push(await buildNixClosure(world.root, [{ name: 'roll-lib' }], undefined, key, OK));
    fx.push(await buildNixClosure(world.root, [{ name: 'roll-lib' }], undefined, key, { ...OK, health: '#!/bin/sh\necho v3 is broken >&2\nexit 1\n' }));
    fx.push(await buildNixClosure(world.root, [{ name: 'roll-lib' }], undefined, key, OK));
    cacheDir = join(world.root, 'nix-cache');
    for (const f of fx.slice(0, 3)) await publishNixCache(f, cacheDir, 'zstd');
    await publishNixCache(fx[3]!, cacheDir, 'none');
    server = transport === 'http' ? await startHttpStoreServer(cacheDir) : undefined;
    s3Cache = transport === 's3' ? await uploadNixCacheToS3(cacheDir) : undefined;
    const cacheUrl = server ? `nix+${server.url}` : s3Cache ? `nix+${s3Cache}` : `nix+file://${cacheDir}`;
    await world.commit({
      'flotilla.yaml': `stores:\n  - "${world.storeUrl}"\n  - "${cacheUrl}"\npublishers:\n  keys:\n    - ${world.publisherPublic}\n  threshold: 1\nnix:\n  trustedKeys:\n    - ${v1.publicKey}\n`,
    }, 'trust the Nix cache');
    fleet = await startFleet(world, machines, (m) => ({ nix: { root: rootOf(m), register: 'never' } }));
  }, 300_000);

  afterAll(async () => {
    await fleet?.stop();
    await server?.close();
    await world?.close();
  });

  const allOn = (top: string) => async (): Promise<boolean> => {
    const st = await readStatuses(world.storeUrl, 'app');
    return machines.every((m) => st.get(m)?.currentDigest === top && st.get(m)?.state === 'Ready');
  };
  const switchedTo = async (top: string): Promise<string[]> => {
    const out: string[] = [];
    for (const m of machines) if ((await readSteps(fleet.logFile(m))).some((s) => s.digest === top && s.step === 'switch')) out.push(m);
    return out;
  };
  const status = async (): Promise<{ code: number; json: { sets: Array<{ health: string; quarantines: Array<{ digest: string; machines: string[] }> }> } }> => {
    const r = await runCli(['status', '--repo', world.work.dir, '--store', world.storeUrl, '--json']);
    return { code: r.code, json: dataOf<never>(r.stdout) };
  };

  it('rolls v1 then v2 out from the cache into each machine\'s chroot root', { timeout: 600_000 }, async () => {
    const [v1, v2] = [fx[0]!, fx[1]!];
    await world.commit({ 'sets/app.yaml': setYaml(v1.top, world.platform) }, 'app v1');
    expect(await waitFor(allOn(v1.top), 240_000)).toBe(true);
    await world.commit({ 'sets/app.yaml': setYaml(v2.top, world.platform) }, 'app v2');
    expect(await waitFor(allOn(v2.top), 240_000)).toBe(true);
    for (const m of machines) {
      const current = join(world.stateDirOf(m), 'sets', 'app', 'current');
      expect(await readlink(join(current, 'out'))).toBe(join(rootOf(m), v2.top));
      for (const p of v2.paths) expect((await nixDump(join(rootOf(m), p), world.root)).equals(await nixDump(p, world.root)), `${m} ${p}`).toBe(true);
    }
    const st = await status();
    expect(st.code).toBe(0);
    expect(st.json.sets[0]?.health).toBe('converged');
  });

  it('rolls a failing v3 back on the canary, quarantines it, and the others keep v2', { timeout: 600_000 }, async () => {
    const [v2, v3] = [fx[1]!, fx[2]!];
    await world.commit({ 'sets/app.yaml': setYaml(v3.top, world.platform) }, 'app v3 (broken health)');
    const canary = planRollout({ set: 'app', target: v3.top as Digest, machines, settings: { canary: 1, batchSize: { kind: 'count', count: 2 } } }).batches[0]?.[0] ?? '';
    expect(await waitFor(() => isQuarantined(world.storeUrl, 'app', v3.top as Digest), 180_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 4000));
    expect(await switchedTo(v3.top)).toEqual([canary]);
    const st = await readStatuses(world.storeUrl, 'app');
    expect(st.get(canary)).toMatchObject({ state: 'RolledBack', currentDigest: v2.top });
    // The others keep v2: Ready, or Waiting on the stopped rollout, never switched.
    for (const m of machines.filter((x) => x !== canary)) {
      expect(st.get(m)?.currentDigest).toBe(v2.top);
      expect(['Ready', 'Waiting']).toContain(st.get(m)?.state);
    }
    const fleetStatus = await status();
    expect(fleetStatus.code).toBe(1);
    expect(fleetStatus.json.sets[0]?.quarantines).toEqual([{ digest: v3.top, machines: [canary] }]);
  });

  it('flotilla revert puts the set back on v2, which every machine then runs', { timeout: 600_000 }, async () => {
    const v2 = fx[1]!;
    const r = await runCli(['revert', 'app', '--repo', world.work.dir, '--sign-key', world.signer.privateKeyPath, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true });
    expect(await readFile(join(world.work.dir, 'sets/app.yaml'), 'utf8')).toContain(`closure: ${v2.top}`);
    await world.work.pushTo(world.bareDir);
    expect(await waitFor(allOn(v2.top), 120_000)).toBe(true);
  });

  it('refuses a cache whose NAR has a flipped byte: the error names the store path and nothing switches', { timeout: 600_000 }, async () => {
    const [v2, v4] = [fx[1]!, fx[3]!];
    const info = parseNarInfo(await readFile(join(cacheDir, `${parseStorePath(v4.top).hash}.narinfo`), 'utf8'), v4.top);
    const nar = join(cacheDir, info.url);
    const bytes = await readFile(nar);
    const i = bytes.indexOf(Buffer.from('exit 0'));
    bytes[i + 5] = '7'.charCodeAt(0);
    // On S3 the object in the bucket is overwritten; the local tree it was uploaded from stays intact.
    if (s3Cache) await overwriteS3Object(s3Cache, info.url, bytes);
    else await writeFile(nar, bytes);
    await world.commit({ 'sets/app.yaml': setYaml(v4.top, world.platform) }, 'app v4 (tampered cache)');
    const named = async (): Promise<boolean> => {
      const store = openStore(world.storeUrl);
      try {
        return [...(await readSetStatuses(store, 'app')).values()].some((s) => JSON.stringify(s).includes(`NAR of ${v4.top}`));
      } finally {
        await store.close();
      }
    };
    expect(await waitFor(named, 120_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 3000));
    expect(await switchedTo(v4.top)).toEqual([]);
    const st = await readStatuses(world.storeUrl, 'app');
    for (const m of machines) expect(st.get(m)?.currentDigest).toBe(v2.top);
    // v4's lib verified before its top's NAR failed: it must not be placed either (all or nothing).
    for (const m of machines) {
      const placed = await readdir(join(rootOf(m), 'nix/store'));
      for (const p of v4.paths) expect(placed, `${m} ${p}`).not.toContain(p.slice('/nix/store/'.length));
    }
  });
});
