import type { Digest } from '../store/digest.js';
import type { ObjectCache } from './object-cache.js';

/**
 * The object each file of a package tree under construction receives straight from the store: its digest
 * → that file's path in the tree's `.partial-…` directory. Written there, hashed there, and only once it
 * verified and was flushed does it get its cache name, by link(2) (the committer's `adopt` step): two names
 * per file instead of three (a cache temp, its rename into the cache, a link into the tree).
 *
 * Why it is as safe as a cache temp: nothing reads a `.partial-…` tree but this fetch; a file there that
 * did not verify is removed before any other attempt (every writer creates its name exclusively and
 * removes it on failure, as with a temp); the cache name is a link to a complete, verified and flushed
 * inode, so it never shows partial bytes; and a crash leaves only the `.partial-…` tree (removed by the
 * next fetch, as before) and cache names that each name a verified file.
 */
export type ObjectHomes = ReadonlyMap<Digest, string>;

/** The cache as one fetch writes into it: `tempPath(digest)` answers the object's home when it has one. */
export function cacheWithHomes(cache: ObjectCache, homes: ObjectHomes): ObjectCache {
  if (homes.size === 0) return cache;
  return { ...cache, tempPath: (digest) => (digest === undefined ? undefined : homes.get(digest)) ?? cache.tempPath() };
}
