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

const MAX_SIG_BYTES = 1024;
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

/**
 * Checks `policy` for the manifest (digest, exact byte size) against signatures and flags found in any of
 * `stores`. Garbage or foreign signatures are ignored; one key counts once. Throws SignatureError (too few
 * valid signatures, or no trusted keys at all: verification is never silently off) or PolicyError
 * (deployable flag required but absent, revoked or not signed by a promoter).
 */
export async function checkPublisherPolicy(stores: Store[], digest: Digest, size: number, policy: PublisherPolicy, signal?: AbortSignal): Promise<PolicyVerdict> {
  const threshold = policy.threshold ?? 1;
  if (policy.trusted.length === 0) throw new SignatureError(`no trusted publisher keys configured; refusing ${digest}`, { object: digest });
  if (!Number.isInteger(threshold) || threshold < 1) throw new SignatureError(`threshold must be a positive integer, got ${threshold}`, { object: digest });
  const good = new Map<string, string>(); // raw key (base64) -> key name
  const errors: string[] = [];
  for (const name of [...new Set(policy.trusted.map((k) => k.name))]) {
    const { found, errors: errs } = await readOptional(stores, signatureKey(digest, name), MAX_SIG_BYTES, signal);
    errors.push(...errs);
    for (const k of policy.trusted.filter((t) => t.name === name)) {
      if (found.some((b) => verifyManifestSignature(k, digest, size, b))) good.set(k.raw.toString('base64'), k.name);
    }
    if (good.size >= threshold) break;
  }
  if (good.size < threshold) {
    throw new SignatureError(
      `${digest}: ${good.size} valid signature(s) by distinct trusted keys, ${threshold} required` + (errors.length ? `; errors: ${errors.join('; ')}` : ''),
      { object: digest, valid: [...good.values()], threshold, errors },
    );
  }
  const verdict: PolicyVerdict = { signers: [...good.values()].sort() };
  if (policy.requireDeployable) verdict.deployable = await checkDeployable(stores, digest, policy.promoters ?? policy.trusted, signal);
  return verdict;
}

async function checkDeployable(stores: Store[], digest: Digest, promoters: PublicKey[], signal?: AbortSignal): Promise<DeployableFlag> {
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
