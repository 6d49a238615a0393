import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBareRepo, isolatedEnv, makeScratch, runTool, TestRepo, type Scratch } from '../helpers/git-repo.js';
import { startGitHttpServer, type GitHttpServer } from '../helpers/git-http-server.js';
import { makeSshKey, type SshKey } from '../helpers/ssh-keys.js';
import { dataOf } from '../helpers/cli-json.js';
import { CLI } from '../helpers/cli-bin.js';

// These tests run the built CLI (run `npx tsc -p tsconfig.build.json` first; `npm test` does).
const ROOT = resolve('.');

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function flotilla(args: string[], cwd = ROOT): Promise<CliRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: isolatedEnv({ FLOTILLA_LOG_LEVEL: 'silent' }) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

let scratch: Scratch;
let key: SshKey;
let other: SshKey;
let server: GitHttpServer;

beforeAll(async () => {
  expect(existsSync(CLI), `${CLI} is missing: run npx tsc -p tsconfig.build.json`).toBe(true);
  scratch = await makeScratch('decl-cli');
  key = await makeSshKey(scratch.path, 'alice');
  other = await makeSshKey(scratch.path, 'mallory');
  await mkdir(join(scratch.path, 'served'));
  server = await startGitHttpServer(join(scratch.path, 'served'));
});
afterAll(async () => {
  await server.close();
  await scratch.cleanup();
});

async function initRepo(name: string): Promise<TestRepo> {
  const dir = join(scratch.path, name);
  const r = await flotilla(['init', dir, '--signing-key', key.privateKeyPath, '--principal', key.principal]);
  expect(r.code, r.stderr).toBe(0);
  return new TestRepo(dir, join(dir, '.git'));
}

describe('flotilla init', () => {
  it('creates a repo whose first commit is signed by the given key, trusted by its allowed_signers, and valid', async () => {
    const repo = await initRepo('signed');
    const signers = join(repo.dir, 'allowed_signers');
    expect(await readFile(signers, 'utf8')).toContain(`${key.principal} namespaces="git" ${key.publicKey}`);
    // git itself accepts the signature.
    await expect(runTool('git', ['-c', `gpg.ssh.allowedSignersFile=${signers}`, 'verify-commit', 'HEAD'], { cwd: repo.dir })).resolves.toBeTypeOf('string');
    // ... and refuses it against signers that do not list the key (so the check above could fail).
    const strangers = join(scratch.path, 'strangers');
    await writeFile(strangers, `${other.principal} ${other.publicKey}\n`);
    await expect(runTool('git', ['-c', `gpg.ssh.allowedSignersFile=${strangers}`, 'verify-commit', 'HEAD'], { cwd: repo.dir })).rejects.toThrow(/exited 1/);
    expect((await repo.git(['status', '--porcelain'])).trim()).toBe('');
    expect((await readdir(repo.dir)).sort()).toEqual(['.flotilla', '.git', 'README.md', 'allowed_signers', 'ci', 'flotilla.yaml', 'machines', 'sets']);
    expect((await readFile(join(repo.dir, 'sets/example.yaml'), 'utf8')).split('\n')[0]).toBe('# yaml-language-server: $schema=../.flotilla/schemas/set.schema.json');

    const v = await flotilla(['validate', '--repo', repo.dir, '--json']);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(dataOf(v.stdout)).toMatchObject({ ok: true, errors: [], signature: { ok: true, signer: key.principal, format: 'ssh' }, sets: ['example'] });
  });

  it('makes further commits signed by default (commit.gpgsign, gpg.format=ssh)', async () => {
    const repo = await initRepo('follow-up');
    await repo.git(['commit', '-q', '--allow-empty', '-m', 'second']);
    expect(await repo.catCommit('HEAD')).toContain('-----BEGIN SSH SIGNATURE-----');
  });

  it('refuses a non-empty directory and leaves it untouched', async () => {
    const dir = join(scratch.path, 'busy');
    await mkdir(dir);
    await writeFile(join(dir, 'keep.txt'), 'mine');
    const r = await flotilla(['init', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('is not empty');
    expect(await readdir(dir)).toEqual(['keep.txt']);
    expect((await readdir(scratch.path)).filter((n) => n.startsWith('.tmp-busy'))).toEqual([]);
  });

  it('without a key: creates the files, staged but not committed', async () => {
    const dir = join(scratch.path, 'unsigned');
    const r = await flotilla(['init', dir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(dataOf(r.stdout)).toEqual({ ok: true, dir, signed: false });
    const staged = await runTool('git', ['diff', '--cached', '--name-only'], { cwd: dir });
    expect(staged.split('\n')).toContain('sets/example.yaml');
  });
});

describe('flotilla validate', () => {
  it('exits 1 naming file:line:col for a bad declaration at HEAD, and 0 at the good parent', async () => {
    const repo = await initRepo('broken');
    const good = await repo.rev();
    const text = await readFile(join(repo.dir, 'sets/example.yaml'), 'utf8');
    await repo.commit({ files: { 'sets/example.yaml': text.replace('timeout: 2m', 'timeout: 2m\n  retries: 1') }, sign: { ssh: key } });
    const r = await flotilla(['validate', '--repo', repo.dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('sets/example.yaml:16:3 /activate/retries unknown property "retries"');
    expect(r.stdout).toMatch(/^signature: ok, ssh by alice@example\.test/m);
    const json = await flotilla(['validate', '--repo', repo.dir, '--json']);
    expect(dataOf(json.stdout)).toMatchObject({ ok: false, errors: [{ file: 'sets/example.yaml', line: 16, col: 3, pointer: '/activate/retries' }] });
    const back = await flotilla(['validate', '--repo', repo.dir, '--rev', good.slice(0, 10)]);
    expect(back.code, back.stdout).toBe(0);
  });

  it('exits 1 for an unsigned HEAD, and for a HEAD signed by a key the pinned trust file does not list', async () => {
    const repo = await initRepo('untrusted');
    await repo.commit({ files: { 'README.md': 'unsigned change\n' } });
    const unsigned = await flotilla(['validate', '--repo', repo.dir, '--json']);
    expect(unsigned.code).toBe(1);
    expect(dataOf(unsigned.stdout)).toMatchObject({ ok: false, errors: [], signature: { ok: false, code: 'UntrustedCommitError' } });

    await repo.commit({ files: { 'README.md': 'signed by mallory\n' }, sign: { ssh: other } });
    const pinned = join(scratch.path, 'pinned_signers');
    await writeFile(pinned, `${key.principal} ${key.publicKey}\n`);
    const r = await flotilla(['validate', '--repo', repo.dir, '--trust-file', pinned]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^signature: UntrustedCommitError: .*unknown-key/m);
    await repo.commit({ files: { 'README.md': 'signed by alice again\n' }, sign: { ssh: key } });
    expect((await flotilla(['validate', '--repo', repo.dir, '--trust-file', pinned])).code).toBe(0);
  });

  it('refuses a tree whose declaration is a symlink', async () => {
    const repo = await initRepo('symlinked');
    await symlink('/etc/passwd', join(repo.dir, 'sets/evil.yaml'));
    await repo.commit({ sign: { ssh: key } });
    const r = await flotilla(['validate', '--repo', repo.dir, '--json']);
    expect(r.code).toBe(1);
    expect(dataOf(r.stdout)).toMatchObject({ ok: false, errors: [{ file: 'sets/evil.yaml', rule: 'unsafe-tree' }] });
  });

  it('validates a repo served over HTTP', async () => {
    const repo = await initRepo('to-serve');
    const bare = await createBareRepo(join(scratch.path, 'served'), 'deploy.git');
    await repo.pushTo(bare);
    const r = await flotilla(['validate', '--repo', `${server.url}/deploy.git`, '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(dataOf(r.stdout)).toMatchObject({ ok: true, commit: await repo.rev(), signature: { ok: true } });
  });

  it('--dir checks a plain directory: the shipped example passes, a broken copy fails with positions', async () => {
    const ok = await flotilla(['validate', '--dir', 'examples/deploy-repo']);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toContain('valid: 3 set(s), 6 machine(s)');
    const dir = join(scratch.path, 'plain');
    await mkdir(join(dir, 'sets'), { recursive: true });
    await writeFile(join(dir, 'flotilla.yaml'), await readFile('deploy-repo-template/flotilla.yaml'));
    await writeFile(join(dir, 'sets/web.yaml'), `closure: sha256:${'a'.repeat(64)}\nmachines: [a]\nrollout:\n  batchSize: 0\n  dependsOn: [ghost]\n`);
    const bad = await flotilla(['validate', '--dir', dir]);
    expect(bad.code).toBe(1);
    expect(bad.stdout.split('\n').slice(0, 1)).toEqual(['sets/web.yaml:4:14 /rollout/batchSize must be >= 1']);
  });

  it('--dir fails a repo past its expires', async () => {
    const dir = join(scratch.path, 'expired');
    await mkdir(dir);
    const config = (await readFile('deploy-repo-template/flotilla.yaml', 'utf8')).replace('# expires: 2027-01-01T00:00:00Z', 'expires: 2020-01-01T00:00:00Z');
    await writeFile(join(dir, 'flotilla.yaml'), config);
    const r = await flotilla(['validate', '--dir', dir, '--json']);
    expect(r.code).toBe(1);
    expect(dataOf(r.stdout)).toMatchObject({ ok: false, errors: [{ file: 'flotilla.yaml', pointer: '/expires', rule: 'expired' }] });
  });

  it('refuses --dir together with --repo (usage error, exit 2)', async () => {
    const r = await flotilla(['validate', '--dir', '.', '--repo', '.']);
    expect(r.code).toBe(2);
  });
});
