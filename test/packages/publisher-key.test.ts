import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { digestFromHex } from '../../src/store/digest.js';
import { signManifest, verifyManifestSignature } from '../../src/trust/manifest-signature.js';
import { formatPublicKey, generateKeyPair, loadSecretKey, parsePublicKey, parseSecretKey, writeSecretKeyFile } from '../../src/trust/publisher-key.js';
import { buildPolicy } from '../../src/trust/publisher-trust.js';
import { makeTempDir } from '../helpers/package-fixtures.js';

const D = digestFromHex('ab'.repeat(32));

describe('publisher keys', () => {
  it('generates NAME:base64 keys whose signatures verify over (digest, size) only', () => {
    const k = generateKeyPair('acme-release-2');
    const sec = parseSecretKey(k.secret);
    const pub = parsePublicKey(k.public);
    expect(formatPublicKey(pub)).toBe(k.public);
    expect(formatPublicKey(sec.publicKey)).toBe(k.public);
    const sig = signManifest(sec, D, 100);
    expect(verifyManifestSignature(pub, D, 100, sig)).toBe(true);
    expect(verifyManifestSignature(pub, D, 101, sig)).toBe(false);
    expect(verifyManifestSignature(pub, digestFromHex('cd'.repeat(32)), 100, sig)).toBe(false);
    expect(verifyManifestSignature(parsePublicKey(generateKeyPair('x').public), D, 100, sig)).toBe(false);
    expect(verifyManifestSignature(pub, D, 100, Buffer.from('not a signature'))).toBe(false);
  });

  it.each([
    ['no name', 'AAAA'],
    ['bad name', '../x:' + Buffer.alloc(32).toString('base64')],
    ['short key', 'k:' + Buffer.alloc(31).toString('base64')],
    ['not base64', 'k:!!!!'],
    ['empty key', 'k:'],
  ])('refuses a public key with %s', (_n, text) => {
    expect(() => parsePublicKey(text)).toThrow(expect.objectContaining({ code: 'KeyError' }) as Error);
  });

  it('refuses a public key given as a secret key (taken as a seed it would sign as another key)', () => {
    expect(() => parseSecretKey(generateKeyPair('k').public)).toThrow(expect.objectContaining({ code: 'KeyError', data: { name: 'k', reason: 'public-key' } }) as Error);
  });

  it('refuses a secret key whose public half does not match its seed', () => {
    const a = Buffer.from(generateKeyPair('a').secret.split(':')[1] ?? '', 'base64');
    const b = Buffer.from(generateKeyPair('b').secret.split(':')[1] ?? '', 'base64');
    expect(() => parseSecretKey(`a:${Buffer.concat([a.subarray(0, 32), b.subarray(32)]).toString('base64')}`)).toThrow(/public half/);
  });

  it('key files: 0600, never overwritten; empty or unreadable files are KeyErrors naming the file', async () => {
    const t = await makeTempDir();
    try {
      const f = join(t.dir, 'k.secret');
      await writeSecretKeyFile(f, generateKeyPair('k').secret);
      expect((await loadSecretKey(f)).name).toBe('k');
      await expect(writeSecretKeyFile(f, 'x:y')).rejects.toMatchObject({ code: 'KeyError' });
      await writeFile(join(t.dir, 'empty'), '\n');
      await expect(loadSecretKey(join(t.dir, 'empty'))).rejects.toMatchObject({ code: 'KeyError', data: { file: join(t.dir, 'empty') } });
      await expect(loadSecretKey(join(t.dir, 'missing'))).rejects.toMatchObject({ code: 'KeyError' });
      await chmod(f, 0o600);
    } finally {
      await t.cleanup();
    }
  });

  it('a policy needs at least one trusted key and a threshold within range', () => {
    const k = generateKeyPair('k').public;
    expect(() => buildPolicy({ trust: [] })).toThrow(/never off/);
    expect(() => buildPolicy({ trust: [k], threshold: '2' })).toThrow(/threshold/);
    expect(buildPolicy({ trust: [k] }).threshold).toBe(1);
  });
});
