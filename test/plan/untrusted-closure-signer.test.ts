import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectPlatform } from '../../src/declarations/index.js';
import type { Plan } from '../../src/plan/types.js';
import { createDeployWorld, runCli, type DeployWorld } from '../helpers/deploy-world.js';
import { writeServicePackage } from '../helpers/service-package.js';

const webYaml = (closure: string): string => `closure: ${closure}\nplatform: ${detectPlatform()}\nmachines: [web-1]\n`;

// `flotilla plan` on a closure the publisher policy refuses says which key did sign it.
describe('plan names the key that signed an untrusted closure', () => {
  let world: DeployWorld;
  let main: string;

  /** Pushes a service package signed by `keyFiles` (none: unsigned); returns its digest. */
  async function pushSignedBy(version: string, keyFiles: string[]): Promise<string> {
    const dir = join(world.root, 'src', `svc-${version}`);
    await writeServicePackage(dir, version);
    const r = await runCli(['push', dir, '--store', world.storeUrl, '--name', 'svc', ...keyFiles.flatMap((k) => ['--sign-key', k])]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim();
  }

  beforeAll(async () => {
    world = await createDeployWorld();
    for (const [name, out] of [['rogue-1', 'rogue.secret'], ['ci-1', 'impostor.secret']] as const) {
      const k = await runCli(['keygen', '--name', name, '--out', join(world.root, out)]);
      expect(k.code, k.stderr).toBe(0);
    }
    main = await world.commit({ 'sets/web.yaml': webYaml(await world.pushService('1.0.0')) }, 'add web');
  });
  afterAll(async () => world?.close());

  it.each([
    ['a key the repo does not trust', ['rogue.secret'], "signed by rogue-1, not among HEAD's publisher keys: ci-1"],
    ['another key under a trusted name', ['impostor.secret'], "the signature(s) under ci-1 do not verify with HEAD's key(s) of that name"],
    ['both', ['rogue.secret', 'impostor.secret'], "signed by rogue-1, not among HEAD's publisher keys: ci-1; the signature(s) under ci-1 do not verify"],
    ['no key', [], "no key signed it (HEAD's publisher keys: ci-1)"],
  ])('signed by %s', async (_what, keyFiles, expected) => {
    const version = `2.0.${keyFiles.length}-${keyFiles.join('-').replace(/\W/g, '')}`;
    const digest = await pushSignedBy(version, keyFiles.map((f) => join(world.root, f)));
    const branch = `bump-${version}`;
    await world.work.git(['checkout', '-q', '-b', branch, 'main']);
    await world.work.commit({ files: { 'sets/web.yaml': webYaml(digest) }, sign: { ssh: world.signer } });
    await world.work.git(['checkout', '-q', 'main']);
    const r = await runCli(['plan', main, branch, '--repo', world.work.dir, '--format', 'json']);
    expect(r.code).toBe(1);
    const check = (JSON.parse(r.stdout) as Plan).sets[0]!.checks.find((c) => c.name === 'signatures')!;
    expect(check.status).toBe('fail');
    expect(check.message).toContain(expected);
  });
});
