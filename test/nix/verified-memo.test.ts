// The memo a kept narinfo carries of the keys that verified it (src/nix/verified-memo.ts): made only from
// signatures that held, honoured only over the same signed fields, for keys still trusted with the same
// bytes that signed the narinfo by name. Real ed25519 keys and signatures.
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { formatSha256, narInfoFingerprint, parseNarInfo, trustedSigners, type NixTrustPolicy } from '../../src/nix/index.js';
import { memoSigners, verifiedMemoLine } from '../../src/nix/verified-memo.js';

const P = '/nix/store/0ia141jqi717hlcxnk8gdrjqwrs60m85-hello-2.12';
const BODY = `StorePath: ${P}\nURL: nar/x.nar\nCompression: none\nNarHash: sha256:${'a'.repeat(64)}\nNarSize: 8\nReferences: \n`;

function keyPair(): { pub: Buffer; sign: (info: ReturnType<typeof parseNarInfo>) => string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return { pub: publicKey.export({ format: 'der', type: 'spki' }).subarray(-32), sign: (info) => sign(null, Buffer.from(narInfoFingerprint(info)), privateKey).toString('base64') };
}

const a = keyPair();
const b = keyPair();
const unsigned = parseNarInfo(BODY, P);
const signed = `${BODY}Sig: ka:${a.sign(unsigned)}\nSig: kb:${b.sign(unsigned)}\n`;
const trustOf = (keys: Array<[string, Buffer]>, threshold = 1): NixTrustPolicy => ({ keys: new Map(keys), threshold });

/** A kept narinfo's text as stageNarInfos writes it: the narinfo, then the memo of what held under `trust`. */
function kept(trust: NixTrustPolicy): string {
  const info = parseNarInfo(signed, P);
  trustedSigners(info, trust);
  return signed + verifiedMemoLine(info, trust);
}

describe('the verified memo of a kept narinfo', () => {
  it('names the keys whose signatures held, with their bytes, over the fingerprint; none when nothing was verified or held', () => {
    const trust = trustOf([['ka', a.pub], ['kb', b.pub]]);
    expect(verifiedMemoLine(parseNarInfo(signed, P), trust)).toBe('');
    const text = kept(trust);
    expect(text.split('\n').filter((l) => l.startsWith('FlotillaVerified: '))).toEqual([
      expect.stringMatching(new RegExp(`^FlotillaVerified: [0-9a-f]{64} ka:${a.pub.toString('base64').replace(/[+/]/g, '\\$&')} kb:${b.pub.toString('base64').replace(/[+/]/g, '\\$&')}$`)),
    ]);
    // A key trusted under a name whose signature does not hold is not remembered as a signer.
    const wrong = trustOf([['ka', b.pub]]);
    const info = parseNarInfo(signed, P);
    expect(trustedSigners(info, wrong)).toEqual([]);
    expect(verifiedMemoLine(info, wrong)).toBe('');
  });

  it('is honoured for the keys still trusted with the same bytes', () => {
    const text = kept(trustOf([['ka', a.pub], ['kb', b.pub]]));
    const info = parseNarInfo(text, P);
    expect(memoSigners(text, info, trustOf([['ka', a.pub], ['kb', b.pub]]))).toEqual(['ka', 'kb']);
    expect(memoSigners(text, info, trustOf([['kb', b.pub]]))).toEqual(['kb']);
    // The same name now trusted with other bytes vouches for nothing.
    expect(memoSigners(text, info, trustOf([['ka', b.pub]]))).toEqual([]);
    expect(memoSigners(text, info, trustOf([['kc', a.pub]]))).toEqual([]);
  });

  it('vouches for nothing once the signed fields differ from those it was made over', () => {
    const text = kept(trustOf([['ka', a.pub]]));
    const other = text.replace(/^NarHash: sha256:a/m, 'NarHash: sha256:b');
    const info = parseNarInfo(other, P);
    expect(info.narHash).not.toBe(formatSha256(Buffer.from('a'.repeat(64), 'hex')));
    expect(memoSigners(other, info, trustOf([['ka', a.pub]]))).toEqual([]);
    const moreRefs = text.replace(/^References: $/m, 'References: 0ia141jqi717hlcxnk8gdrjqwrs60m85-hello-2.12');
    expect(memoSigners(moreRefs, parseNarInfo(moreRefs, P), trustOf([['ka', a.pub]]))).toEqual([]);
  });

  it('does not vouch for a key whose signature the narinfo no longer lists', () => {
    const text = kept(trustOf([['ka', a.pub], ['kb', b.pub]]));
    const withoutA = text.replace(/^Sig: ka:.*\n/m, '');
    expect(memoSigners(withoutA, parseNarInfo(withoutA, P), trustOf([['ka', a.pub], ['kb', b.pub]]))).toEqual(['kb']);
  });

  it('is ignored when malformed, and a narinfo with it still parses as Nix would', () => {
    const text = kept(trustOf([['ka', a.pub]]));
    const info = parseNarInfo(text, P);
    expect(info).toEqual(parseNarInfo(signed, P));
    const line = text.split('\n').find((l) => l.startsWith('FlotillaVerified: ')) ?? '';
    for (const bad of [line.replace(/: [0-9a-f]{64}/, ': zz'), line.replace(/ ka:/, ' ka'), `${line}x`, line.replace(/=$/, '')]) {
      const t = text.replace(line, bad);
      expect(memoSigners(t, parseNarInfo(t, P), trustOf([['ka', a.pub]]))).toEqual([]);
    }
  });
});
