import { KeyError, NotFoundError } from '../errors/index.js';
import type { Digest } from '../store/digest.js';
import { deployableFlagKey, objectKey, signatureKey } from '../store/keys.js';
import type { Store } from '../store/store.js';
import { DEFAULT_LIMITS } from '../packages/limits.js';
import { parseManifest } from '../packages/manifest-codec.js';
import { signDeployableFlag } from './manifest-deployable.js';
import { decodeManifestSignature, signManifest, verifyManifestSignature } from './manifest-signature.js';
import type { SecretKey } from './publisher-key.js';

async function readVerifiedManifest(store: Store, digest: Digest): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await store.getBytes(objectKey(digest), { maxBytes: DEFAULT_LIMITS.maxManifestBytes });
  } catch (err) {
    if (store.isNotFound(err)) throw new NotFoundError(`manifest ${digest} is not in ${store.url}`, { object: digest });
    throw err;
  }
  // Never sign or promote bytes we would refuse to fetch.
  parseManifest(bytes, digest);
  return bytes;
}

/** What signing did: wrote a new signature, found this key's valid one already there, or replaced another. */
export type SignOutcome = 'added' | 'unchanged' | 'replaced';

async function readExisting(store: Store, key: string): Promise<{ bytes: Buffer; etag: string } | null> {
  try {
    const info = await store.head(key);
    return { bytes: await store.getBytes(key, { maxBytes: 1024 }), etag: info.etag };
  } catch (err) {
    if (store.isNotFound(err)) return null;
    throw err;
  }
}

/**
 * Adds `key`'s signature to a manifest already in the store (after reading and fully validating it), never
 * removing one that may verify: this key's valid signature already there is a no-op ('unchanged'); a
 * well-formed signature under the same key name that this key did not make (perhaps the trusted key of that
 * name) is kept and refused with KeyError unless `replace` (key rotation); garbage is overwritten. Writes
 * are conditional, so a concurrent signer makes this fail with PreconditionFailedError rather than be lost.
 * Throws NotFoundError, IntegrityError, ManifestError, KeyError, PreconditionFailedError.
 */
export async function signStoredManifest(store: Store, digest: Digest, key: SecretKey, options: { replace?: boolean } = {}): Promise<SignOutcome> {
  const bytes = await readVerifiedManifest(store, digest);
  const sigKey = signatureKey(digest, key.name);
  const existing = await readExisting(store, sigKey);
  const fresh = signManifest(key, digest, bytes.length);
  if (existing === null) {
    await store.put(sigKey, fresh, { ifNoneMatch: '*' });
    return 'added';
  }
  if (verifyManifestSignature(key.publicKey, digest, bytes.length, existing.bytes)) return 'unchanged';
  if (decodeManifestSignature(existing.bytes) !== undefined && options.replace !== true) {
    throw new KeyError(
      `${digest} already carries a signature under the key name ${key.name} that this key did not make (it may be the trusted ${key.name} key's), so it is kept; sign with a key of another name (flotilla keygen --name ${key.name}-2), or pass --replace if ${key.name} was rotated to this key`,
      { object: digest, name: key.name, reason: 'other-key' },
    );
  }
  await store.put(sigKey, fresh, { ifMatch: existing.etag });
  return 'replaced';
}

/**
 * Writes the signed deployable flag for a manifest in the store (`revoke` writes a signed revocation,
 * which replaces the promotion). Throws NotFoundError, IntegrityError, ManifestError.
 */
export async function promoteManifest(store: Store, digest: Digest, key: SecretKey, options: { revoke?: boolean; now?: Date } = {}): Promise<void> {
  await readVerifiedManifest(store, digest);
  const flag = signDeployableFlag(key, digest, options.revoke ? 'revoked' : 'promoted', options.now ?? new Date());
  await store.put(deployableFlagKey(digest), flag);
}
