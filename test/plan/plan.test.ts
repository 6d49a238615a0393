import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectPlatform } from '../../src/declarations/index.js';
import type { Plan } from '../../src/plan/types.js';
import { writeQuarantine } from '../../src/rollout/quarantine.js';
import type { Digest } from '../../src/store/digest.js';
import { openStore } from '../../src/store/open-store.js';
import { createDeployWorld, runCli, type DeployWorld } from '../helpers/deploy-world.js';
import { writeServicePackage } from '../helpers/service-package.js';
import { dataOf } from '../helpers/cli-json.js';

const schema = JSON.parse(readFileSync(resolve('schemas/plan.schema.json'), 'utf8')) as object;
const ajv = new Ajv2020.default({ strict: true, allErrors: true });
addFormats.default(ajv);
const validatePlan = ajv.compile(schema);

const AT = '2026-11-23T07:00:00.000Z'; // a Monday, 08:00 in Berlin: inside the window below

const webYaml = (closure: string, extra = ''): string => `# the public site
closure: ${closure}
platform: ${detectPlatform()}
machines: [web-1, web-2, web-3]
rollout:
  canary: 1
  batchSize: 2
  pauseBetweenBatches: 5m
  maxFailures: 0
  windows:
    - days: [mon, tue, wed, thu, fri]
      start: "06:00"
      duration: 4h
      timeZone: Europe/Berlin
${extra}`;

const dbYaml = (closure: string): string => `closure: ${closure}
platform: ${detectPlatform()}
machines: [db-1]
`;

/** Replaces digests, commit ids, temp paths and machine order so the markdown is stable across runs. */
function normalise(text: string, world: DeployWorld): string {
  const seen = new Map<string, string>();
  const label = (kind: string, v: string): string => {
    if (!seen.has(v)) seen.set(v, `<${kind}-${[...seen.values()].filter((x) => x.startsWith(`<${kind}`)).length + 1}>`);
    return seen.get(v)!;
  };
  return text
    .split(world.root).join('<root>')
    .replace(/sha256:[0-9a-f]{12,64}/g, (m) => label('digest', m.slice(0, 19)))
    .replace(/\b[0-9a-f]{40}\b/g, (m) => label('oid', m))
    .replace(/\b[0-9a-f]{12}\b/g, (m) => label('oid', m))
    .replace(/web-\d/g, 'web-#');
}

describe('flotilla plan on real repos and a real store', () => {
  let world: DeployWorld;
  let v1: Digest;
  let v2: Digest;
  let v3: Digest;
  let unsigned: Digest;
  let main: string;

  /** Commits `files` signed on a new branch off main; returns to main. */
  async function branch(name: string, files: Record<string, string | null>, sign = true): Promise<string> {
    await world.work.git(['checkout', '-q', '-b', name, 'main']);
    const oid = await world.work.commit({ files, message: `change on ${name}`, sign: sign ? { ssh: world.signer } : null });
    await world.work.git(['checkout', '-q', 'main']);
    return oid;
  }

  async function plan(head: string, format = 'json'): Promise<{ code: number; stdout: string; stderr: string }> {
    return runCli(['plan', main, head, '--repo', world.work.dir, '--format', format, '--at', AT]);
  }

  beforeAll(async () => {
    world = await createDeployWorld();
    v1 = await world.pushService('1.0.0');
    v2 = await world.pushService('2.0.0');
    v3 = await world.pushService('3.0.0');
    const dir = join(world.root, 'src', 'unsigned');
    await writeServicePackage(dir, '9.9.9');
    const r = await runCli(['push', dir, '--store', world.storeUrl, '--name', 'svc', '--provenance', 'git.remote=https://example.test/svc.git', '--provenance', 'builder=ci-runner-7']);
    unsigned = r.stdout.trim() as Digest;
    main = await world.commit({ 'sets/web.yaml': webYaml(v1), 'sets/db.yaml': dbYaml(v1) }, 'web and db on v1');
  });
  afterAll(async () => world?.close());

  it('a plain bump (made with flotilla bump --branch): diff, provenance, schedule, checks pass, exit 0; JSON fits the schema', async () => {
    const b = await runCli(['bump', 'web', v2, '--repo', world.work.dir, '--sign-key', world.signer.privateKeyPath, '--branch', 'plain']);
    expect(b.code, b.stderr).toBe(0);
    const r = await plan('plain');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const p = JSON.parse(r.stdout) as Plan;
    expect(validatePlan(p), JSON.stringify(validatePlan.errors)).toBe(true);
    expect(p.ok).toBe(true);
    expect(p.verdict).toMatch(/^OK: 1 set\(s\) change/);
    expect(p.sets).toHaveLength(1);
    const web = p.sets[0]!;
    expect(web).toMatchObject({ name: 'web', kind: 'changed', aspects: ['closure'], from: v1, to: v2, packages: ['svc'] });
    expect(web.diff!.changed.map((c) => c.name)).toEqual(['svc']);
    expect(web.diff!.bytesToFetch).toBeGreaterThan(0);
    expect(web.diff!.sizeAfter).toBeGreaterThan(0);
    expect(web.rollout!.batches.map((x) => x.machines.length)).toEqual([1, 2]);
    expect(web.rollout!.batches[0]!.canary).toBe(true);
    expect(web.rollout!.windowOpenNow).toBe(true);
    expect(web.rollout!.pauseBetweenBatches).toBe('5m');
    expect(web.checks.map((c) => [c.name, c.status])).toEqual([['closure', 'pass'], ['signatures', 'pass'], ['deployable', 'skip'], ['quarantine', 'pass']]);
    expect(p.checks.map((c) => [c.name, c.status])).toEqual([['declarations', 'pass'], ['commit-signatures', 'pass']]);
    expect(p.commits).toHaveLength(1);
  });

  it('the markdown for a PR comment: marker, verdict, table, details blocks (snapshot)', async () => {
    const r = await plan('plain', 'markdown');
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith('<!-- flotilla-plan -->\n')).toBe(true);
    expect(r.stdout).toContain('<details>');
    expect(normalise(r.stdout, world)).toMatchSnapshot();
  });

  it('the text format: one block per set, batches, checks, the verdict last', async () => {
    const r = await plan('plain', 'text');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toContain('web (sets/web.yaml): closure');
    expect(lines.some((l) => /^    batch 1 \(canary\): web-\d$/.test(l))).toBe(true);
    expect(lines).toContain('  PASS signatures: signed by ci-1 (publisher policy at HEAD)');
    expect(lines.at(-1)).toBe('OK: 1 set(s) change, every check passes; merging starts the rollout');
  });

  it('windows: outside them the plan names the next opening', async () => {
    const r = await runCli(['plan', main, 'plain', '--repo', world.work.dir, '--format', 'json', '--at', '2026-11-22T12:00:00Z']);
    const web = (JSON.parse(r.stdout) as Plan).sets[0]!;
    expect(web.rollout!.windowOpenNow).toBe(false);
    expect(web.rollout!.nextWindow).toBe('2026-11-23T05:00:00.000Z');
  });

  it('a bump to an unsigned closure fails the signatures check, exit 1', async () => {
    await branch('unsigned', { 'sets/web.yaml': webYaml(unsigned) });
    const r = await plan('unsigned');
    expect(r.code).toBe(1);
    const p = JSON.parse(r.stdout) as Plan;
    expect(validatePlan(p)).toBe(true);
    const sig = p.sets[0]!.checks.find((c) => c.name === 'signatures')!;
    expect(sig.status).toBe('fail');
    expect(sig.message).toMatch(/SignatureError: .*0 valid signature/);
    expect(p.verdict).toMatch(/^FAIL: .*web\/signatures/);
    expect(p.sets[0]!.provenance).toMatchObject({ 'git.remote': 'https://example.test/svc.git', builder: 'ci-runner-7' });
  });

  it('a bump to a quarantined digest fails the quarantine check, naming the machine', async () => {
    const store = openStore(world.storeUrl);
    await writeQuarantine(store, 'web', v3, { machine: 'web-2', reason: 'HealthCheckFailed', message: 'boom', time: new Date().toISOString() });
    await store.close();
    await branch('quarantined', { 'sets/web.yaml': webYaml(v3) });
    const r = await plan('quarantined');
    expect(r.code).toBe(1);
    const q = (JSON.parse(r.stdout) as Plan).sets[0]!.checks.find((c) => c.name === 'quarantine')!;
    expect(q).toMatchObject({ status: 'fail' });
    expect(q.message).toContain('web-2');
  });

  it('a change of rollout policy only: no diff, nothing to fetch, exit 0', async () => {
    await branch('policy', { 'sets/web.yaml': webYaml(v1).replace('batchSize: 2', 'batchSize: 1') });
    const r = await plan('policy');
    expect(r.code, r.stdout).toBe(0);
    const web = (JSON.parse(r.stdout) as Plan).sets[0]!;
    expect(web).toMatchObject({ aspects: ['rollout'], from: v1, to: v1, diff: null });
    expect(web.rollout!.batches.map((x) => x.machines.length)).toEqual([1, 1, 1]);
    expect(web.checks).toEqual([expect.objectContaining({ name: 'closure', status: 'skip' })]);
  });

  it('two sets with dependsOn: the dependent waits; it fails when its dependency fails', async () => {
    await branch('deps', { 'sets/web.yaml': webYaml(v2, '  dependsOn: [db]\n'), 'sets/db.yaml': dbYaml(v2) });
    const ok = JSON.parse((await plan('deps')).stdout) as Plan;
    expect(ok.ok).toBe(true);
    expect(ok.sets.map((s) => s.name)).toEqual(['db', 'web']);
    const dep = ok.sets[1]!.checks.find((c) => c.name === 'dependsOn')!;
    expect(dep).toMatchObject({ status: 'pass' });
    expect(dep.message).toMatch(/db roll\(s\) out first/);
    await branch('deps-bad', { 'sets/web.yaml': webYaml(v2, '  dependsOn: [db]\n'), 'sets/db.yaml': dbYaml(unsigned) });
    const r = await plan('deps-bad');
    expect(r.code).toBe(1);
    const bad = JSON.parse(r.stdout) as Plan;
    expect(bad.sets[1]!.checks.find((c) => c.name === 'dependsOn')).toMatchObject({ status: 'fail' });
  });

  it('invalid YAML at HEAD fails the declarations check with file:line, exit 1', async () => {
    await branch('broken', { 'sets/web.yaml': `${webYaml(v2)}machines: [\n` });
    const r = await plan('broken', 'text');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL declarations: /);
    expect(r.stdout).toMatch(/sets\/web\.yaml:\d+:\d+ /);
    expect(r.stdout.trim().split('\n').pop()).toMatch(/^FAIL: /);
  });

  it("an unsigned commit in the PR fails commit-signatures (checked against BASE's allowed_signers)", async () => {
    await branch('unsigned-commit', { 'sets/web.yaml': webYaml(v2) }, false);
    const r = await plan('unsigned-commit');
    expect(r.code).toBe(1);
    const p = JSON.parse(r.stdout) as Plan;
    const c = p.checks.find((x) => x.name === 'commit-signatures')!;
    expect(c.status).toBe('fail');
    expect(c.details?.[0]).toMatch(/unsigned/);
    expect(p.commitTrust).toMatch(/allowed_signers at BASE/);
  });

  it('a PR cannot vouch for itself: a key it adds to allowed_signers does not make its own commits trusted', async () => {
    const { makeSshKey, allowedSignersLine } = await import('../helpers/ssh-keys.js');
    const intruder = await makeSshKey(world.root, 'intruder');
    const signers = readFileSync(world.allowedSignersFile, 'utf8') + `${allowedSignersLine(intruder)}\n`;
    await world.work.git(['checkout', '-q', '-b', 'self-vouch', 'main']);
    await world.work.commit({ files: { allowed_signers: signers, 'sets/web.yaml': webYaml(v2) }, sign: { ssh: intruder } });
    await world.work.git(['checkout', '-q', 'main']);
    const r = await plan('self-vouch');
    expect(r.code).toBe(1);
    const p = JSON.parse(r.stdout) as Plan;
    expect(p.checks.find((x) => x.name === 'commit-signatures')?.details?.[0]).toMatch(/unknown-key/);
    expect(p.repoChanges[0]).toMatch(/^allowed_signers changed/);
    // With the pinned trust file the verdict is the same.
    const pinned = await runCli(['plan', main, 'self-vouch', '--repo', world.work.dir, '--trust-file', world.allowedSignersFile, '--json']);
    expect(pinned.code).toBe(1);
  });

  it('defaults: on main with no arguments, BASE is HEAD~1', async () => {
    const r = await runCli(['plan', '--repo', world.work.dir, '--json']);
    const p = dataOf<Plan>(r.stdout);
    expect(p.head).toBe(main);
    expect(p.base).toBe(await world.work.rev('main~1'));
    expect(p.sets.map((s) => s.name)).toEqual(['db', 'web']);
    expect(p.sets.every((s) => s.kind === 'added')).toBe(true);
  });
  it('BASE and HEAD take git revision syntax: main~1, a short id with ^, HEAD; unknown or malformed ones are refused by name', async () => {
    const parent = await world.work.rev('main~1');
    for (const args of [['main~1', 'main'], [`${main.slice(0, 8)}^`, main.slice(0, 8)], ['HEAD~1', 'HEAD'], ['@^', '@']]) {
      const r = await runCli(['plan', ...args, '--repo', world.work.dir, '--json']);
      const p = dataOf<Plan>(r.stdout);
      expect([p.base, p.head], args.join(' ')).toEqual([parent, main]);
    }
    const unknown = await runCli(['plan', 'main~9', 'main', '--repo', world.work.dir]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/NotFoundError: revision main~9: commit [0-9a-f]{12} has no parent/);
    const range = await runCli(['plan', 'main..plain', '--repo', world.work.dir]);
    expect(range.code).toBe(2);
    expect(range.stderr).toMatch(/UsageError: revision "main\.\.plain": .*e\.g\. HEAD~1/);
  });

  it('--repo URL: revision syntax on the server\'s branches (main~1, main^ main)', async () => {
    const parent = await world.work.rev('main~1');
    for (const args of [['main~1'], ['main^', 'main']]) {
      const r = await runCli(['plan', ...args, '--repo', world.repoUrl, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const p = dataOf<Plan>(r.stdout);
      expect([p.base, p.head], args.join(' ')).toEqual([parent, main]);
    }
  });

  it('--repo URL: reads the repo over HTTP (HEAD and BASE are branches; main against its first parent)', async () => {
    const r = await runCli(['plan', '--repo', world.repoUrl, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const p = dataOf<Plan>(r.stdout);
    expect(p.head).toBe(main);
    expect(p.sets.map((s) => s.name)).toEqual(['db', 'web']);
  });
});
