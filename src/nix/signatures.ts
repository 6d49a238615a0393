import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { KeyError, SignatureError } from '../errors/index.js';
import type { NarInfo } from './narinfo.js';

/**
 * Which Nix signing keys a closure must be signed by: `keys` by name (raw 32-byte ed25519 public keys) and
 * how many distinct trusted keys must have signed each path (at least 1).
 */
export interface NixTrustPolicy {
  keys: ReadonlyMap<string, Buffer>;
  threshold: number;
}

// DER SubjectPublicKeyInfo header of an ed25519 key; the raw 32 bytes follow it.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const KEY_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * Parses a Nix public key `name:base64(32 bytes)` as `nix key convert-secret-to-public` prints it
 * (e.g. `cache.nixos.org-1:6NCH…=`). Throws KeyError naming the key when it is not one.
 */
export function parseNixPublicKey(s: string): { name: string; key: Buffer } {
  const text = s.trim();
  const colon = text.lastIndexOf(':');
  const name = text.slice(0, colon);
  const key = Buffer.from(text.slice(colon + 1), 'base64');
  if (colon <= 0 || !KEY_NAME_RE.test(name) || key.length !== 32 || key.toString('base64') !== text.slice(colon + 1)) {
    throw new KeyError(
      `Nix public key ${JSON.stringify(text.slice(0, 120))} must be NAME:BASE64 of 32 bytes (as 'nix key convert-secret-to-public' prints)`,
      { key: text.slice(0, 120) },
    );
  }
  return { name, key };
}

/** The bytes Nix signs for a path: `1;<storePath>;<narHash>;<narSize>;<sorted references, comma-separated>`. */
export function narInfoFingerprint(info: Pick<NarInfo, 'storePath' | 'narHash' | 'narSize' | 'references'>): string {
  return `1;${info.storePath};${info.narHash};${info.narSize};${[...info.references].sort().join(',')}`;
}

const keyObjects = new WeakMap<Buffer, KeyObject>();
function keyObject(raw: Buffer): KeyObject {
  let k = keyObjects.get(raw);
  if (k === undefined) {
    k = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
    keyObjects.set(raw, k);
  }
  return k;
}

/**
 * Signers already found for a narinfo under a trust policy, with what they were found over: a kept
 * narinfo is verified when read and again by the closure's walk, and each ed25519 verification costs
 * ~0.2 ms here (OpenSSL's per-call setup), 120 ms of a 301-path no-op. A narinfo changed since (its
 * fields or signatures) does not match `over` and is verified anew.
 */
const verified = new WeakMap<NarInfo, { trust: NixTrustPolicy; over: string; signers: readonly string[] }>();

/** A narinfo's fingerprint and what its signers are remembered over (the fingerprint and its signatures). */
function keyOf(info: NarInfo): { fingerprint: string; over: string } {
  const fingerprint = narInfoFingerprint(info);
  return { fingerprint, over: `${fingerprint}\n${info.sigs.join('\n')}` };
}

function remembered(info: NarInfo, trust: NixTrustPolicy, over: string): string[] | undefined {
  const known = verified.get(info);
  return known !== undefined && known.trust === trust && known.over === over ? [...known.signers] : undefined;
}

/**
 * The trusted keys whose signatures over `info` this process already found valid under `trust`, without
 * verifying anything; undefined when none was looked for (or `info` changed since).
 */
export function rememberedSigners(info: NarInfo, trust: NixTrustPolicy): readonly string[] | undefined {
  return remembered(info, trust, keyOf(info).over);
}

/**
 * Records `signers` as the trusted keys whose signatures over `info` hold under `trust`, as a verification
 * would: for a narinfo whose signatures were verified when it was kept (verified-memo.ts).
 */
export function rememberSigners(info: NarInfo, trust: NixTrustPolicy, signers: readonly string[]): void {
  verified.set(info, { trust, over: keyOf(info).over, signers: [...signers] });
}

/** Each signature by a trusted key, with its name, key and 64 bytes (a name signing twice is checked until one holds). */
function candidates(info: NarInfo, trust: NixTrustPolicy): { name: string; key: KeyObject; bytes: Buffer }[] {
  const out: { name: string; key: KeyObject; bytes: Buffer }[] = [];
  for (const sig of info.sigs) {
    const colon = sig.indexOf(':');
    const name = sig.slice(0, colon);
    const raw = trust.keys.get(name);
    if (colon <= 0 || raw === undefined) continue;
    const bytes = Buffer.from(sig.slice(colon + 1), 'base64');
    if (bytes.length === 64) out.push({ name, key: keyObject(raw), bytes });
  }
  return out;
}

/** The names of the trusted keys whose signature over `info`'s fingerprint verifies (each name once). */
export function trustedSigners(info: NarInfo, trust: NixTrustPolicy): string[] {
  const { fingerprint, over } = keyOf(info);
  const known = remembered(info, trust, over);
  if (known !== undefined) return known;
  const message = Buffer.from(fingerprint);
  const good = new Set<string>();
  for (const c of candidates(info, trust)) if (!good.has(c.name) && verify(null, message, c.key, c.bytes)) good.add(c.name);
  verified.set(info, { trust, over, signers: [...good] });
  return [...good];
}

const verifyOnPool = (message: Buffer, key: KeyObject, sig: Buffer): Promise<boolean> =>
  new Promise((resolve, reject) => verify(null, message, key, sig, (err, ok) => (err ? reject(err) : resolve(ok))));

/**
 * trustedSigners with each verification on libuv's pool (crypto.verify's callback form): a closure's
 * narinfos, read several at once, are then verified on every core while this thread reads and parses.
 */
export async function trustedSignersAsync(info: NarInfo, trust: NixTrustPolicy): Promise<string[]> {
  const { fingerprint, over } = keyOf(info);
  const known = remembered(info, trust, over);
  if (known !== undefined) return known;
  const message = Buffer.from(fingerprint);
  const good = new Set<string>();
  for (const c of candidates(info, trust)) if (!good.has(c.name) && (await verifyOnPool(message, c.key, c.bytes))) good.add(c.name);
  verified.set(info, { trust, over, signers: [...good] });
  return [...good];
}

/**
 * Checks, on libuv's pool (trustedSignersAsync), that at least `trust.threshold` distinct trusted keys
 * signed `info`. Rejects with SignatureError naming the store path, what signed it and what is trusted: a
 * signature by a trusted key over other fields (a changed NarHash, size or reference) fails like no
 * signature at all.
 */
export async function verifyNarInfoAsync(info: NarInfo, trust: NixTrustPolicy): Promise<void> {
  const threshold = Math.max(1, trust.threshold);
  const signers = await trustedSignersAsync(info, trust);
  if (signers.length >= threshold) return;
  const listed = info.sigs.map((s) => s.slice(0, Math.max(0, s.indexOf(':'))));
  throw new SignatureError(
    `${info.storePath}: ${signers.length} valid signature(s) by trusted Nix keys, ${threshold} required ` +
      `(signed by: ${listed.length === 0 ? 'nobody' : listed.join(', ')}; valid: ${signers.join(', ') || 'none'}; ` +
      `trusted: ${[...trust.keys.keys()].join(', ') || 'none'}); sign it with 'nix store sign -k KEY' or trust its key`,
    { storePath: info.storePath, signers, threshold },
  );
}
