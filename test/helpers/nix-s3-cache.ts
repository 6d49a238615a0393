import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openStore } from '../../src/store/open-store.js';
import { s3TestUrl } from './s3-test-store.js';

/**
 * Uploads a `nix copy --to file://DIR` tree to a fresh bucket on the suite's S3 server (Ceph RGW from the
 * global setup, or FLOTILLA_TEST_S3_ENDPOINT), below `prefix`, with the project's S3 store: Debian's Nix 2.8
 * cannot write `s3://` itself, and the key layout of the two cache kinds is the same. Returns the bucket's
 * `s3://` URL; the cache is `nix+` that URL. Throws the store's error when an upload fails.
 */
export async function uploadNixCacheToS3(dir: string, prefix = ''): Promise<string> {
  const s3 = await s3TestUrl(prefix);
  const store = openStore(s3);
  try {
    for (const name of (await readdir(dir, { recursive: true })).sort()) {
      if ((await lstat(join(dir, name))).isFile()) await store.put(name, await readFile(join(dir, name)));
    }
  } finally {
    await store.close();
  }
  // A cache at the bucket root is named `s3://BUCKET?endpoint=…`, as `nix copy --to` users write it.
  return prefix === '' ? s3.replace('/?', '?') : s3;
}

/** Overwrites one object of an S3 store (a tampered cache: the bucket itself changed, not the local tree). */
export async function overwriteS3Object(s3: string, key: string, bytes: Buffer): Promise<void> {
  const store = openStore(s3);
  try {
    await store.put(key, bytes);
  } finally {
    await store.close();
  }
}
