import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess, type CliResult } from '../helpers/cli-in-process.js';
import { createBareRepo, createTestRepo, makeScratch, type Scratch, type TestRepo } from '../helpers/git-repo.js';
import { startGitHttpServer, type GitHttpServer } from '../helpers/git-http-server.js';
import { allowedSignersLine, makeSshKey, type SshKey } from '../helpers/ssh-keys.js';
import { dataOf } from '../helpers/cli-json.js';

let scratch: Scratch;
let repo: TestRepo;
let alice: SshKey;
let mallory: SshKey;
let server: GitHttpServer;
let trustFile: string;
const oids: string[] = [];

const run = (argv: string[]): Promise<CliResult> => runCliInProcess(argv, { cwd: scratch.path });

interface Row { oid: string; verified: boolean; signer?: string; reason?: string; setsChanged: string[]; subject: string }

beforeAll(async () => {
  scratch = await makeScratch('log');
  repo = await createTestRepo(scratch.path, 'deploy');
  alice = await makeSshKey(scratch.path, 'alice');
  mallory = await makeSshKey(scratch.path, 'mallory');
  trustFile = join(scratch.path, 'pinned_signers');
  await writeFile(trustFile, `${allowedSignersLine(alice)}\n`);
  oids.push(await repo.commit({ message: 'init', files: { 'flotilla.yaml': 'v: 1\n', 'sets/web.yaml': 'a\n', 'sets/db.yaml': 'a\n', allowed_signers: `${allowedSignersLine(alice)}\n` }, sign: { ssh: alice } }));
  oids.push(await repo.commit({ message: 'bump web', files: { 'sets/web.yaml': 'b\n' }, sign: { ssh: alice } }));
  oids.push(await repo.commit({ message: 'sneaky', files: { 'sets/db.yaml': 'evil\n', 'README.md': 'x\n' } }));
  oids.push(await repo.commit({ message: 'by mallory', files: { 'sets/api.yaml': 'new\n', 'sets/web.yaml': null }, sign: { ssh: mallory } }));
  server = await startGitHttpServer(join(scratch.path, 'srv'));
  await repo.pushTo(await createBareRepo(join(scratch.path, 'srv'), 'deploy.git'));
});
afterAll(async () => {
  await server.close();
  await scratch.cleanup();
});

describe('flotilla log', () => {
  it('lists commits newest first with signer, verdict and the sets each changed (--json)', async () => {
    const r = await run(['log', '--repo', 'deploy', '--trust-file', trustFile, '--json']);
    expect(r.code, r.err).toBe(0);
    const doc = dataOf<{ commits?: Row[]; result?: { commits: Row[] } }>(r.out);
    const commits = (doc.commits ?? doc.result?.commits)!;
    expect(commits.map((c) => c.oid)).toEqual([...oids].reverse());
    expect(commits.map((c) => [c.subject, c.verified, c.signer ?? c.reason, c.setsChanged])).toEqual([
      ['by mallory', false, 'unknown-key', ['api', 'web']],
      ['sneaky', false, 'unsigned', ['db']],
      ['bump web', true, alice.principal, ['web']],
      ['init', true, alice.principal, ['db', 'web']],
    ]);
  });

  it('prints text, honours -n, and reads an HTTP remote', async () => {
    const r = await run(['log', '--repo', `${server.url}/deploy.git`, '-n', '2', '--trust-file', trustFile]);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toContain(`trust: ${trustFile}`);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/NOT {2}unknown-key \[api, web\] {2}by mallory$/);
    expect(lines[2]).toMatch(/NOT {2}unsigned \[db\] {2}sneaky$/);
  });

  it('without --trust-file says the repo vouches for itself', async () => {
    const r = await run(['log', '--repo', 'deploy', '-n', '1']);
    expect(r.out).toContain('the repo vouching for itself');
  });

  it('refuses a bad -n and an empty trust file', async () => {
    expect((await run(['log', '--repo', 'deploy', '-n', 'x'])).code).toBe(2);
    const empty = join(scratch.path, 'empty');
    await writeFile(empty, '');
    const r = await run(['log', '--repo', 'deploy', '--trust-file', empty]);
    expect(r.code).toBe(1);
    expect(r.err + r.out).toContain('KeyError');
  });
});
