import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRawObject } from '../../src/git/objects.js';
import { splitSignedCommit } from '../../src/trust/commit-payload.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTestRepo, makeScratch, runTool, type Scratch, type TestRepo } from '../helpers/git-repo.js';
import { makeGpgKey, stopGpgAgent, type GpgKey } from '../helpers/gpg.js';
import { makeSshKey, type SshKey } from '../helpers/ssh-keys.js';

let scratch: Scratch;
let repo: TestRepo;
let ssh: SshKey;
let gpg: GpgKey;

/** git's own view: the commit minus its gpgsig header and continuation lines. */
function gitPayload(catFile: string): string {
  return catFile.replace(/^gpgsig .*\n(?: .*\n)*/m, '');
}

beforeAll(async () => {
  scratch = await makeScratch('payload');
  repo = await createTestRepo(scratch.path);
  ssh = await makeSshKey(scratch.path, 'alice');
  gpg = await makeGpgKey(scratch.path, 'bob');
});
afterAll(async () => {
  await stopGpgAgent(gpg);
  await scratch.cleanup();
});

describe('splitSignedCommit', () => {
  it.each(['ssh', 'gpg'] as const)('rebuilds exactly the payload git signed (%s), and the signature', async (kind) => {
    const sign = kind === 'ssh' ? { ssh } : { gpg };
    const oid = await repo.commit({ files: { 'a.txt': `${kind}\n` }, message: `multi\n\nline body\n  indented\n`, sign });
    const raw = await readRawObject(repo.gitdir, oid);
    const parts = splitSignedCommit(raw.bytes);
    const cat = await repo.catCommit(oid);
    expect(parts.payload.toString('utf8')).toBe(gitPayload(cat));
    expect(parts.signatureHeaders).toBe(1);
    expect(parts.signature).toMatch(kind === 'ssh' ? /^-----BEGIN SSH SIGNATURE-----\n[\s\S]+-----END SSH SIGNATURE-----\n$/ : /^-----BEGIN PGP SIGNATURE-----\n\n[\s\S]+-----END PGP SIGNATURE-----\n$/);
    expect(parts.committerTime).toBeGreaterThan(0);
    // The signing tool itself accepts our payload with our extracted signature: the bytes are exactly what was signed.
    const payloadFile = join(scratch.path, `payload-${kind}`);
    const sigFile = join(scratch.path, `sig-${kind}`);
    await writeFile(payloadFile, parts.payload);
    await writeFile(sigFile, parts.signature!);
    if (kind === 'ssh') {
      const signers = join(scratch.path, 'signers');
      await writeFile(signers, `${ssh.principal} ${ssh.publicKey}\n`);
      await runTool('ssh-keygen', ['-Y', 'verify', '-f', signers, '-I', ssh.principal, '-n', 'git', '-s', sigFile], { input: parts.payload });
    } else {
      await runTool('gpg', ['--batch', '--verify', sigFile, payloadFile], { env: { GNUPGHOME: gpg.gnupgHome } });
    }
  });

  it('keeps an unsigned commit whole and reports no signature', async () => {
    const oid = await repo.commit({ files: { 'b.txt': 'b\n' } });
    const parts = splitSignedCommit((await readRawObject(repo.gitdir, oid)).bytes);
    expect(parts.signature).toBeUndefined();
    expect(parts.payload.toString('utf8')).toBe(await repo.catCommit(oid));
  });

  it('drops gpgsig-sha256 too and counts duplicate gpgsig headers', () => {
    const text = 'tree t\ngpgsig A\n B\ngpgsig-sha256 X\n Y\ngpgsig C\nauthor a\ncommitter c 5 +0000\n\nmsg gpgsig x\n';
    const parts = splitSignedCommit(Buffer.from(text));
    expect(parts.payload.toString()).toBe('tree t\nauthor a\ncommitter c 5 +0000\n\nmsg gpgsig x\n');
    expect(parts.signatureHeaders).toBe(2);
    expect(parts.signature).toBe('A\nB\n');
    expect(parts.committerTime).toBe(5000);
  });
});
