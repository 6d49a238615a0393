import { NotFoundError } from '../errors/index.js';
import type { Digest } from '../store/digest.js';
import { deployableFlagKey, objectKey, signatureKey } from '../store/keys.js';
import type { Store } from '../store/store.js';
import { DEFAULT_LIMITS } from '../packages/limits.js';
import { parseManifest } from '../packages/manifest-codec.js';
import { signDeployableFlag } from './manifest-deployable.js';
import { signManifest } from './manifest-signature.js';
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

/**
 * Adds `key`'s signature to a manifest already in the store (after reading and fully validating it).
 * Overwrites an earlier signature by the same key name. Throws NotFoundError, IntegrityError, ManifestError.
 */
export async function signStoredManifest(store: Store, digest: Digest, key: SecretKey): Promise<void> {
  const bytes = await readVerifiedManifest(store, digest);
  await store.put(signatureKey(digest, key.name), signManifest(key, digest, bytes.length));
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
