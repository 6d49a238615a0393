import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors/index.js';
import { parseAllowedSigners } from '../../src/trust/allowed-signers.js';
import { parseSshPublicKey } from '../../src/trust/ssh-public-key.js';
import { parseSshSignature, verifySshSignature } from '../../src/trust/sshsig.js';
import { makeScratch, runTool, type Scratch } from '../helpers/git-repo.js';
import { makeSshKey, sshSignData, type SshKey, type SshKeyType } from '../helpers/ssh-keys.js';

let scratch: Scratch;
const keys = new Map<SshKeyType, SshKey>();
const TYPES: SshKeyType[] = ['ed25519', 'ecdsa256', 'ecdsa384', 'ecdsa521', 'rsa'];

const keyOf = (k: SshKey) => parseSshPublicKey(Buffer.from(k.publicKey.split(' ')[1]!, 'base64'));

beforeAll(async () => {
  scratch = await makeScratch('sshsig');
  for (const t of TYPES) keys.set(t, await makeSshKey(scratch.path, t, t));
});
afterAll(async () => scratch.cleanup());

describe('SSHSIG verification', () => {
  it.each(TYPES)('verifies a %s signature made by ssh-keygen, and refuses a changed message', async (t) => {
    const key = keys.get(t)!;
    const message = Buffer.from(`tree abc\n\nsigned by ${t}\n`);
    const sig = parseSshSignature(await sshSignData(key, message));
    expect(sig.namespace).toBe('git');
    expect(sig.publicKeyBlob.equals(keyOf(key).blob)).toBe(true);
    expect(verifySshSignature(sig, message, keyOf(key))).toBe(true);
    expect(verifySshSignature(sig, Buffer.from(`${message.toString()}x`), keyOf(key))).toBe(false);
    const other = keys.get(t === 'ed25519' ? 'rsa' : 'ed25519')!;
    expect(verifySshSignature(sig, message, keyOf(other))).toBe(false);
  });

  it('reports the namespace the signer used', async () => {
    const sig = parseSshSignature(await sshSignData(keys.get('ed25519')!, 'x', 'file'));
    expect(sig.namespace).toBe('file');
  });

  it('agrees with ssh-keygen -Y verify on the same bytes', async () => {
    const key = keys.get('ed25519')!;
    const message = 'payload\n';
    const armored = await sshSignData(key, message);
    const sigPath = join(scratch.path, 'sig');
    await writeFile(sigPath, armored);
    const signers = join(scratch.path, 'signers');
    await writeFile(signers, `${key.principal} ${key.publicKey}\n`);
    await runTool('ssh-keygen', ['-Y', 'verify', '-f', signers, '-I', key.principal, '-n', 'git', '-s', sigPath], { input: message });
    const [signer] = parseAllowedSigners(`${key.principal} ${key.publicKey}\n`, 'signers');
    expect(verifySshSignature(parseSshSignature(armored), Buffer.from(message), signer!.key!)).toBe(true);
  });

  it.each([
    ['no armor', 'hello'],
    ['bad base64', '-----BEGIN SSH SIGNATURE-----\n!!!!\n-----END SSH SIGNATURE-----'],
    ['bad magic', `-----BEGIN SSH SIGNATURE-----\n${Buffer.from('XXXXXX\0\0\0\x01').toString('base64')}\n-----END SSH SIGNATURE-----`],
    ['truncated', `-----BEGIN SSH SIGNATURE-----\n${Buffer.from('SSHSIG\0\0\0\x01\0\0\0\x09ab').toString('base64')}\n-----END SSH SIGNATURE-----`],
  ])('refuses a malformed signature (%s) with SignatureError', (_name, armored) => {
    let err: unknown;
    try {
      parseSshSignature(armored);
    } catch (e) {
      err = e;
    }
    expect(hasCode(err, 'SignatureError')).toBe(true);
  });
});
