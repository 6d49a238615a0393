import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePgpSigningKey, signPgpPayload } from '../../src/trust/sign-openpgp.js';
import { loadSshSigningKey, parseSshPrivateKey, signSshPayload } from '../../src/trust/sign-ssh.js';
import { parseSshSignature, verifySshSignature } from '../../src/trust/sshsig.js';
import { parseSshPublicKey } from '../../src/trust/ssh-public-key.js';
import { readPgpKeyring, verifyPgpSignature } from '../../src/trust/openpgp-verify.js';
import { makeScratch, runTool, type Scratch } from '../helpers/git-repo.js';
import { makeGpgKey, stopGpgAgent, type GpgKey } from '../helpers/gpg.js';
import { makeSshKey, writeAllowedSigners, type SshKeyType } from '../helpers/ssh-keys.js';

let scratch: Scratch;
beforeAll(async () => {
  scratch = await makeScratch('sign');
});
afterAll(async () => scratch.cleanup());

const payload = Buffer.from('tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n\nmsg\n');

describe.each<SshKeyType>(['ed25519', 'ecdsa256', 'ecdsa384', 'ecdsa521', 'rsa'])('in-process SSH signing with a %s key', (type) => {
  it('makes an SSHSIG that ssh-keygen -Y verify and the in-process verifier accept', async () => {
    const key = await makeSshKey(scratch.path, `k-${type}`, type);
    const signing = await loadSshSigningKey(key.privateKeyPath);
    const armor = signSshPayload(signing, payload);
    const sigFile = join(scratch.path, `${type}.sig`);
    await writeFile(sigFile, armor);
    const allowed = join(scratch.path, `${type}.allowed`);
    await writeAllowedSigners(allowed, [key]);
    const out = await runTool('ssh-keygen', ['-Y', 'verify', '-f', allowed, '-I', key.principal, '-n', 'git', '-s', sigFile], { input: payload });
    expect(out).toContain('Good "git" signature');
    const sig = parseSshSignature(armor);
    expect(sig.namespace).toBe('git');
    expect(verifySshSignature(sig, payload, parseSshPublicKey(sig.publicKeyBlob))).toBe(true);
    expect(verifySshSignature(sig, Buffer.concat([payload, Buffer.from('x')]), parseSshPublicKey(sig.publicKeyBlob))).toBe(false);
    await expect(runTool('ssh-keygen', ['-Y', 'verify', '-f', allowed, '-I', key.principal, '-n', 'file', '-s', sigFile], { input: payload })).rejects.toThrow();
  });
});

describe('SSH private keys that cannot sign in-process', () => {
  it('refuses an encrypted key, saying so', async () => {
    const path = join(scratch.path, 'id-encrypted');
    await runTool('ssh-keygen', ['-t', 'ed25519', '-N', 'secret-pass', '-q', '-f', path]);
    await expect(loadSshSigningKey(path)).rejects.toMatchObject({ code: 'KeyError', data: { reason: 'encrypted' } });
  });

  it('refuses a public key, garbage and a missing file with KeyError naming the file', async () => {
    const key = await makeSshKey(scratch.path, 'pubonly');
    await expect(loadSshSigningKey(key.publicKeyPath)).rejects.toMatchObject({ code: 'KeyError', data: { file: key.publicKeyPath } });
    expect(() => parseSshPrivateKey('-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n', 'x')).toThrow(/x: bad openssh-key-v1 magic/);
    await expect(loadSshSigningKey(join(scratch.path, 'nope'))).rejects.toMatchObject({ code: 'KeyError' });
  });
});

describe('in-process OpenPGP signing', () => {
  let gpg: GpgKey;
  beforeAll(async () => {
    gpg = await makeGpgKey(scratch.path, 'pgp-signer');
  });
  afterAll(async () => stopGpgAgent(gpg));

  it('makes a detached signature that gpg --verify and the in-process verifier accept', async () => {
    const secret = await runTool('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--armor', '--export-secret-keys', gpg.fingerprint], { env: { GNUPGHOME: gpg.gnupgHome } });
    const armor = await signPgpPayload(await parsePgpSigningKey(secret, 'secret.asc'), payload);
    const v = await verifyPgpSignature(armor, payload, await readPgpKeyring([gpg.armoredPublicKey], 'pub'));
    expect(v).toMatchObject({ ok: true, fingerprint: gpg.fingerprint.toUpperCase() });
    const sigFile = join(scratch.path, 'p.sig');
    const dataFile = join(scratch.path, 'p.data');
    await writeFile(sigFile, armor);
    await writeFile(dataFile, payload);
    await runTool('gpg', ['--batch', '--verify', sigFile, dataFile], { env: { GNUPGHOME: gpg.gnupgHome } });
  });

  it('refuses a public key as a signing key', async () => {
    await expect(parsePgpSigningKey(gpg.armoredPublicKey, 'pub.asc')).rejects.toMatchObject({ code: 'KeyError', data: { file: 'pub.asc' } });
  });
});
