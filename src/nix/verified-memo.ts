import { createHash } from 'node:crypto';
import type { NarInfo } from './narinfo.js';
import { narInfoFingerprint, rememberedSigners, type NixTrustPolicy } from './signatures.js';

// A kept narinfo (narinfo-cache.ts) carries one line more than Nix's: which trusted keys' signatures over
// it verified when it was kept, and over exactly what. A later run that still trusts those keys (same name,
// same key bytes, enough of them for its threshold) takes the narinfo without an ed25519 verification:
// ~0.1 ms each on this machine, every path of every no-op and of every unchanged path of a rollout (30 ms
// of a 301-path no-op's 113; a NixOS system has thousands of paths). As Nix, which checks signatures when a
// path enters its store and trusts its database after: the memo is as trusted as the placed path it stands
// for, both files under the root that only root writes, and the no-op re-hashes neither (fsck does). What
// the memo does not weaken: a key dropped from the trusted keys, or given other bytes under its name, no
// longer vouches, and the narinfo is verified again (then read from the cache if that fails); a narinfo
// whose signed fields changed no longer matches the fingerprint the memo names. Nix ignores unknown keys of
// a narinfo, and so does parseNarInfo.

const FIELD = 'FlotillaVerified';
const LINE_RE = new RegExp(`^${FIELD}: ([0-9a-f]{64})((?: [A-Za-z0-9][A-Za-z0-9._-]{0,127}:[A-Za-z0-9+/]{43}=)+)$`, 'm');

const fingerprintHash = (info: NarInfo): string => createHash('sha256').update(narInfoFingerprint(info)).digest('hex');

/**
 * The memo line (with its newline) recording the trusted keys whose signatures over `info` this process
 * found valid under `trust`; '' when none is remembered (nothing was verified, or nothing held).
 */
export function verifiedMemoLine(info: NarInfo, trust: NixTrustPolicy): string {
  const keys = (rememberedSigners(info, trust) ?? []).flatMap((name) => {
    const key = trust.keys.get(name);
    return key === undefined ? [] : [`${name}:${key.toString('base64')}`];
  });
  return keys.length === 0 ? '' : `${FIELD}: ${fingerprintHash(info)} ${keys.join(' ')}\n`;
}

/**
 * The signers the memo in `text` (a kept narinfo's text, parsed as `info`) vouches for that `trust` still
 * trusts with the same key bytes and that signed `info` by name; [] when there is no memo, or it was made
 * over other signed fields than `info`'s.
 */
export function memoSigners(text: string, info: NarInfo, trust: NixTrustPolicy): string[] {
  const m = LINE_RE.exec(text);
  if (m === null || m[1] !== fingerprintHash(info)) return [];
  const signedBy = new Set(info.sigs.map((s) => s.slice(0, Math.max(0, s.indexOf(':')))));
  const out = new Set<string>();
  for (const entry of (m[2] ?? '').trim().split(' ')) {
    const colon = entry.lastIndexOf(':');
    const name = entry.slice(0, colon);
    const key = trust.keys.get(name);
    if (key !== undefined && signedBy.has(name) && key.toString('base64') === entry.slice(colon + 1)) out.add(name);
  }
  return [...out];
}
