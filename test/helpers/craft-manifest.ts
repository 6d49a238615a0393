import { createHash } from 'node:crypto';
import { canonicalJson, type CanonicalValue } from '../../src/packages/canonical-json.js';
import { digestFromHex, type Digest } from '../../src/store/digest.js';
import { objectKey, signatureKey } from '../../src/store/keys.js';
import type { Store } from '../../src/store/store.js';
import { signManifest } from '../../src/trust/manifest-signature.js';
import type { SecretKey } from '../../src/trust/publisher-key.js';

/** sha256 digest of bytes. */
export function sha(bytes: Buffer | string): Digest {
  return digestFromHex(createHash('sha256').update(bytes).digest('hex'));
}

/** A manifest body as plain JSON (bypassing every check), with defaults for the fields a row does not set. */
export function rawManifest(over: Record<string, CanonicalValue>): string {
  return canonicalJson({ format: 1, name: 'evil', entries: [], references: [], provenance: {}, ...over });
}

/** A file entry whose object is `content` (not uploaded). */
export function fileEntry(path: string, content: string, executable = false): Record<string, CanonicalValue> {
  return { type: 'file', path, size: Buffer.byteLength(content), digest: sha(content), executable };
}

/**
 * Serves hand-crafted manifest bytes from a store, signed by `key` like a real push would (so the test
 * exercises the parser, not the signature check). Returns the digest.
 */
export async function serveManifest(store: Store, text: string | Buffer, key: SecretKey): Promise<Digest> {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
  const d = sha(bytes);
  await store.put(objectKey(d), bytes);
  await store.put(signatureKey(d, key.name), signManifest(key, d, bytes.length));
  return d;
}
