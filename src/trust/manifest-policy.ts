import { PolicyError, SignatureError } from '../errors/index.js';
import type { Digest } from '../store/digest.js';
import { deployableFlagKey, signatureKey } from '../store/keys.js';
import type { Store } from '../store/store.js';
import { parseDeployableFlag, verifyDeployableFlag, type DeployableFlag } from './manifest-deployable.js';
import { verifyManifestSignature } from './manifest-signature.js';
import type { PublicKey } from './publisher-key.js';

/**
 * Which manifests a machine accepts: signed by at least `threshold` distinct trusted keys (default 1), and,
 * when `requireDeployable`, carrying a deployable flag in state `promoted` signed by a promoter key
 * (default: the trusted keys).
 */
export interface PublisherPolicy {
  trusted: PublicKey[];
  threshold?: number;
  requireDeployable?: boolean;
  promoters?: PublicKey[];
}

/** What a policy check found. */
export interface PolicyVerdict {
  signers: string[];
  deployable?: DeployableFlag;
}

/** The most a signature object may hold (an ed25519 signature in base64 is 88 bytes). */
export const MAX_SIG_BYTES = 1024;
const MAX_FLAG_BYTES = 4096;

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function readOptional(stores: Store[], key: string, maxBytes: number, signal?: AbortSignal): Promise<{ found: Buffer[]; errors: string[] }> {
  const found: Buffer[] = [];
  const errors: string[] = [];
  for (const s of stores) {
    try {
      found.push(await s.getBytes(key, signal ? { maxBytes, signal } : { maxBytes }));
    } catch (err) {
      if (!s.isNotFound(err)) errors.push(`${s.url}: ${reason(err)}`);
    }
  }
  return { found, errors };
}

/** Where a policy check reads a manifest's signatures: every candidate under one key name, and read errors. */
export type SignatureSource = (keyName: string) => Promise<{ found: Buffer[]; errors: string[] }>;

/** The signatures of `digest` in `stores` (every mirror that has one), each read capped at 1 KiB. */
export function storeSignatures(stores: Store[], digest: Digest, signal?: AbortSignal): SignatureSource {
  return (name) => readOptional(stores, signatureKey(digest, name), MAX_SIG_BYTES, signal);
}

/** A threshold met: the verdict, and for each counted key the exact signature bytes that verified. */
export interface SignedVerdict {
  verdict: PolicyVerdict;
  signatures: Array<{ keyName: string; bytes: Buffer }>;
}

/**
 * The signature half of the policy: at least `threshold` distinct trusted keys signed (digest, size), per
 * `source`. Garbage or foreign signatures are ignored; one key counts once. Throws SignatureError (too few
 * valid signatures, or no trusted keys at all: verification is never silently off).
 */
export async function checkSignatures(source: SignatureSource, digest: Digest, size: number, policy: PublisherPolicy): Promise<SignedVerdict> {
  const threshold = policy.threshold ?? 1;
  if (policy.trusted.length === 0) throw new SignatureError(`no trusted publisher keys configured; refusing ${digest}`, { object: digest });
  if (!Number.isInteger(threshold) || threshold < 1) throw new SignatureError(`threshold must be a positive integer, got ${threshold}`, { object: digest });
  const good = new Map<string, { keyName: string; bytes: Buffer }>(); // raw key (base64) -> key name, the bytes that verified
  const errors: string[] = [];
  for (const name of [...new Set(policy.trusted.map((k) => k.name))]) {
    const { found, errors: errs } = await source(name);
    errors.push(...errs);
    for (const k of policy.trusted.filter((t) => t.name === name)) {
      const bytes = found.find((b) => verifyManifestSignature(k, digest, size, b));
      if (bytes !== undefined) good.set(k.raw.toString('base64'), { keyName: k.name, bytes });
    }
    if (good.size >= threshold) break;
  }
  const signers = [...good.values()].map((g) => g.keyName);
  if (good.size < threshold) {
    throw new SignatureError(
      `${digest}: ${good.size} valid signature(s) by distinct trusted keys, ${threshold} required` + (errors.length ? `; errors: ${errors.join('; ')}` : ''),
      { object: digest, valid: signers, threshold, errors },
    );
  }
  return { verdict: { signers: signers.sort() }, signatures: [...good.values()] };
}

/**
 * Checks `policy` for the manifest (digest, exact byte size) against signatures and flags found in any of
 * `stores`. Throws what checkSignatures throws, or PolicyError (deployable flag required but absent,
 * revoked or not signed by a promoter).
 */
export async function checkPublisherPolicy(stores: Store[], digest: Digest, size: number, policy: PublisherPolicy, signal?: AbortSignal): Promise<PolicyVerdict> {
  const { verdict } = await checkSignatures(storeSignatures(stores, digest, signal), digest, size, policy);
  if (policy.requireDeployable) verdict.deployable = await checkDeployable(stores, digest, policy.promoters ?? policy.trusted, signal);
  return verdict;
}

/**
 * The deployable flag of `digest`: the first store's valid flag decides (mirrors are ordered). It is read
 * from the stores every time: unlike a signature, a flag can be revoked. Throws PolicyError (absent,
 * revoked, or not signed by one of `promoters`).
 */
export async function checkDeployable(stores: Store[], digest: Digest, promoters: PublicKey[], signal?: AbortSignal): Promise<DeployableFlag> {
  const { found, errors } = await readOptional(stores, deployableFlagKey(digest), MAX_FLAG_BYTES, signal);
  const reasons: string[] = [...errors];
  // The first store with a valid flag decides (mirrors are ordered); a revoked flag there is final.
  for (const bytes of found) {
    let flag: DeployableFlag;
    try {
      flag = parseDeployableFlag(bytes, digest);
    } catch (err) {
      reasons.push(reason(err));
      continue;
    }
    if (!promoters.some((k) => k.name === flag.key && verifyDeployableFlag(flag, k))) {
      reasons.push(`flag signed by ${JSON.stringify(flag.key)}, not a valid promoter signature`);
      continue;
    }
    if (flag.state !== 'promoted') throw new PolicyError(`${digest} is not deployable: promotion revoked by ${flag.key} at ${flag.time}`, { object: digest, key: flag.key });
    return flag;
  }
  throw new PolicyError(`${digest} is not deployable: no valid deployable flag` + (reasons.length ? ` (${reasons.join('; ')})` : ''), { object: digest, reasons });
}
