import { sign, verify } from 'node:crypto';
import { ManifestError } from '../errors/index.js';
import { isDigest, type Digest } from '../store/digest.js';
import { canonicalJson } from '../packages/canonical-json.js';
import type { PublicKey, SecretKey } from './publisher-key.js';

/** `promoted` allows deployment; `revoked` withdraws it (the flag object is overwritten, never deleted). */
export type DeployableState = 'promoted' | 'revoked';

/** The signed statement stored at flags/deployable/<hex>, as canonical JSON. */
export interface DeployableFlag {
  digest: Digest;
  key: string;
  state: DeployableState;
  time: string;
  signature: string;
}

const TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;

/** The message a promoter signs: `flotilla-deployable-v1;<digest>;<state>;<time>`. */
export function deployableMessage(digest: Digest, state: DeployableState, time: string): Buffer {
  return Buffer.from(`flotilla-deployable-v1;${digest};${state};${time}`, 'utf8');
}

/** Builds the canonical bytes of a signed flag. */
export function signDeployableFlag(key: SecretKey, digest: Digest, state: DeployableState, now: Date): Buffer {
  const time = now.toISOString();
  const signature = sign(null, deployableMessage(digest, state, time), key.key).toString('base64');
  return Buffer.from(canonicalJson({ digest, key: key.name, signature, state, time }), 'utf8');
}

/**
 * Parses a flag's bytes strictly (canonical JSON, exact fields, same digest as the key it was read from).
 * Throws ManifestError naming the digest.
 */
export function parseDeployableFlag(bytes: Buffer, digest: Digest): DeployableFlag {
  const fail = (why: string): never => {
    throw new ManifestError(`deployable flag for ${digest}: ${why}`, { object: digest });
  };
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    return fail('not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail('not an object');
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).sort().join(',');
  if (keys !== 'digest,key,signature,state,time') return fail(`unexpected fields ${keys}`);
  const { key, signature, state, time } = o;
  if (o['digest'] !== digest || !isDigest(o['digest'])) return fail('names another digest');
  if (typeof key !== 'string' || typeof signature !== 'string' || typeof time !== 'string' || !TIME_RE.test(time)) return fail('bad field types');
  if (state !== 'promoted' && state !== 'revoked') return fail('state must be promoted or revoked');
  const flag: DeployableFlag = { digest, key, signature, state, time };
  if (canonicalJson({ ...flag }) !== bytes.toString('utf8')) return fail('bytes are not canonical');
  return flag;
}

/** True when the flag is signed by `key` (matched by name by the caller). Never throws. */
export function verifyDeployableFlag(flag: DeployableFlag, key: PublicKey): boolean {
  const sig = Buffer.from(flag.signature, 'base64');
  if (sig.length !== 64) return false;
  try {
    return verify(null, deployableMessage(flag.digest, flag.state, flag.time), key.key, sig);
  } catch {
    return false;
  }
}
