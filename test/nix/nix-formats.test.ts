// Store paths, Nix base-32 and hashes, narinfo fields and public keys, checked against the real `nix` CLI.
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeNixBase32, encodeNixBase32, formatSha256, narInfoFingerprint, parseNarInfo, parseNixPublicKey, parseSha256, parseStorePath, trustedSigners, trustedSignersAsync } from '../../src/nix/index.js';
import { runTool } from '../../scripts/world/tools.js';
import { nixEnv } from '../helpers/nix-closure.js';

const P = '/nix/store/0ia141jqi717hlcxnk8gdrjqwrs60m85-hello-2.12';

describe('Nix formats', () => {
  it('base-32 and every hash form Nix accepts agree with nix hash to-base32', async () => {
    const digest = createHash('sha256').update('flotilla').digest();
    const hex = digest.toString('hex');
    const nix = (await runTool('nix', ['hash', 'to-base32', '--type', 'sha256', hex], { env: nixEnv('/tmp') })).trim();
    expect(encodeNixBase32(digest)).toBe(nix);
    expect(decodeNixBase32(nix, 32)).toEqual(digest);
    for (const form of [`sha256:${nix}`, `sha256:${hex}`, `sha256:${digest.toString('base64')}`, `sha256-${digest.toString('base64')}`]) {
      expect(formatSha256(parseSha256(form, 'x'))).toBe(`sha256:${nix}`);
    }
    expect(() => parseSha256(`md5:${hex}`, 'NarHash of p')).toThrow(/NarHash of p: only sha256/);
    expect(() => parseSha256(`sha256:${nix.slice(1)}e`, 'x')).toThrow(/well-formed/);
  });

  it.each([
    ['/nix/store/short-x', /needs <32-character hash>-<name>/],
    ['/nix/store/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-x', /not Nix base-32/],
    [`${P}/bin`, /top-level/],
    ['/gnu/store/0ia141jqi717hlcxnk8gdrjqwrs60m85-x', /must start with \/nix\/store\//],
    ['/nix/store/0ia141jqi717hlcxnk8gdrjqwrs60m85-.hidden', /may not start with "\."/],
    ['/nix/store/0ia141jqi717hlcxnk8gdrjqwrs60m85-a b', /name may hold only/],
  ])('refuses the store path %s', (s, why) => {
    expect(() => parseStorePath(s)).toThrow(why);
  });

  it('parses a narinfo: defaults, unknown keys, normalised hashes, sorted references', () => {
    const hex = 'a'.repeat(64);
    const info = parseNarInfo(
      `StorePath: ${P}\nURL: nar/x.nar\nNarHash: sha256:${hex}\nNarSize: 8\nReferences: zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz-b 0ia141jqi717hlcxnk8gdrjqwrs60m85-hello-2.12\nDeriver: unknown-deriver\nCA: x\nSig: a:b\nSig: c:d\n`,
      P,
    );
    expect(info.compression).toBe('bzip2');
    expect(info.narHash).toBe(formatSha256(Buffer.from(hex, 'hex')));
    expect(info.references).toEqual([P, '/nix/store/zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz-b']);
    expect(info.sigs).toEqual(['a:b', 'c:d']);
    expect(info.deriver).toBeUndefined();
    expect(() => parseNarInfo(`StorePath: ${P}\nURL: ../x\nNarHash: sha256:${hex}\nNarSize: 8\n`, P)).toThrow(/not a relative path/);
    expect(() => parseNarInfo(`StorePath: ${P}\nURL: x\nNarHash: sha256:${hex}\n`, P)).toThrow(/no NarSize/);
    expect(() => parseNarInfo(`StorePath: ${P}\nURL: x\nNarHash: sha256:${hex}\nNarSize: 8\nCompression: lz4\n`, P)).toThrow(/Compression "lz4"/);
  });

  it('a signature found once is not verified again for the same narinfo and trust, but anything changed is', async () => {
    const pair = (): { pub: Buffer; priv: ReturnType<typeof generateKeyPairSync>['privateKey'] } => {
      const { publicKey, privateKey } = generateKeyPairSync('ed25519');
      return { pub: publicKey.export({ format: 'der', type: 'spki' }).subarray(-32), priv: privateKey };
    };
    const k = pair();
    const other = pair();
    const text = `StorePath: ${P}\nURL: nar/x.nar\nNarHash: sha256:${'a'.repeat(64)}\nNarSize: 8\nReferences: \n`;
    const unsigned = parseNarInfo(text, P);
    const sig = sign(null, Buffer.from(narInfoFingerprint(unsigned)), k.priv).toString('base64');
    const info = parseNarInfo(`${text}Sig: k1:${sig}\n`, P);
    const trust = { keys: new Map([['k1', k.pub]]), threshold: 1 };
    expect(trustedSigners(info, trust)).toEqual(['k1']);
    expect(trustedSigners(info, trust)).toEqual(['k1']);
    // The same object with another NarHash: its fingerprint changed, so it is verified again, and fails.
    const narHash = info.narHash;
    info.narHash = formatSha256(Buffer.from('b'.repeat(64), 'hex'));
    expect(trustedSigners(info, trust)).toEqual([]);
    info.narHash = narHash;
    expect(trustedSigners(info, trust)).toEqual(['k1']);
    // The same on libuv's pool (what a closure's walk uses).
    const fresh = parseNarInfo(`${text}Sig: k1:${sig}\n`, P);
    expect(await trustedSignersAsync(fresh, trust)).toEqual(['k1']);
    fresh.narHash = formatSha256(Buffer.from('c'.repeat(64), 'hex'));
    expect(await trustedSignersAsync(fresh, trust)).toEqual([]);
    // Another trust policy, naming another key k1: verified under it, not answered from the first.
    expect(trustedSigners(info, { keys: new Map([['k1', other.pub]]), threshold: 1 })).toEqual([]);
  });

  it('reads public keys as nix key convert-secret-to-public prints them', async () => {
    const env = nixEnv('/tmp');
    const sk = await runTool('nix', ['key', 'generate-secret', '--key-name', 'cache.example-1'], { env });
    const pk = (await runTool('nix', ['key', 'convert-secret-to-public'], { env, input: sk })).trim();
    expect(parseNixPublicKey(pk).name).toBe('cache.example-1');
    expect(parseNixPublicKey(pk).key).toHaveLength(32);
    expect(() => parseNixPublicKey('nokey')).toThrow(/NAME:BASE64/);
  });
});
