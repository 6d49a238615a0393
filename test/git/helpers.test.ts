import { gzipSync } from 'node:zlib';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBareRepo, createTestRepo, makeScratch, runTool, type Scratch, type TestRepo } from '../helpers/git-repo.js';
import { startGitHttpServer, type GitHttpServer } from '../helpers/git-http-server.js';
import { makeSshKey } from '../helpers/ssh-keys.js';
import { makeGpgKey, stopGpgAgent, type GpgKey } from '../helpers/gpg.js';

let scratch: Scratch;
let repo: TestRepo;
let server: GitHttpServer;
let gpg: GpgKey;

beforeAll(async () => {
  scratch = await makeScratch('helpers');
  repo = await createTestRepo(scratch.path);
  server = await startGitHttpServer(scratch.path);
});
afterAll(async () => {
  await server.close();
  if (gpg) await stopGpgAgent(gpg);
  await scratch.cleanup();
});

describe('test helpers', () => {
  it('make SSH- and OpenPGP-signed commits that git itself verifies', async () => {
    const key = await makeSshKey(scratch.path, 'alice');
    gpg = await makeGpgKey(scratch.path, 'bob');
    const a = await repo.commit({ files: { 'a.txt': 'a\n' }, sign: { ssh: key } });
    const b = await repo.commit({ files: { 'b.txt': 'b\n' }, sign: { gpg } });
    const c = await repo.commit({ files: { 'c.txt': 'c\n' } });
    expect(await repo.catCommit(a)).toContain('-----BEGIN SSH SIGNATURE-----');
    expect(await repo.catCommit(b)).toContain('-----BEGIN PGP SIGNATURE-----');
    expect(await repo.catCommit(c)).not.toContain('gpgsig');
    const signers = `${scratch.path}/allowed`;
    await runTool('sh', ['-c', `printf '%s %s\\n' '${key.principal}' "$(cut -d' ' -f1,2 ${key.publicKeyPath})" > ${signers}`]);
    await repo.git(['-c', `gpg.ssh.allowedSignersFile=${signers}`, 'verify-commit', a]);
    await repo.git(['verify-commit', b], { env: { GNUPGHOME: gpg.gnupgHome } });
  });

  it('serve a bare repo over git http-backend to git and isomorphic-git (protocol v2)', async () => {
    const bare = await createBareRepo(scratch.path, 'deploy.git');
    await repo.pushTo(bare);
    const head = await repo.rev();
    const lsRemote = await runTool('git', ['-c', 'protocol.version=2', 'ls-remote', `${server.url}/deploy.git`, 'refs/heads/main']);
    expect(lsRemote.split('\t')[0]).toBe(head);
    const refs = await git.listServerRefs({ http, url: `${server.url}/deploy.git`, protocolVersion: 2, prefix: 'refs/heads/main' });
    expect(refs).toEqual([{ ref: 'refs/heads/main', oid: head }]);
    await runTool('git', ['clone', '-q', '--bare', `${server.url}/deploy.git`, `${scratch.path}/clone.git`]);
    expect((await runTool('git', ['--git-dir', `${scratch.path}/clone.git`, 'rev-parse', 'main'])).trim()).toBe(head);
    // git gzips large request bodies: the bridge must hand the encoding to http-backend.
    const pkt = (s: string): string => `${(s.length + 4).toString(16).padStart(4, '0')}${s}`;
    const body = gzipSync(`${pkt('command=ls-refs\n')}0001${pkt('ref-prefix refs/heads/\n')}0000`);
    const res = await fetch(`${server.url}/deploy.git/git-upload-pack`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/x-git-upload-pack-request', 'content-encoding': 'gzip', 'git-protocol': 'version=2' },
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(`${head} refs/heads/main`);
  });
});
