import { SizeLimitError, UnsafeTreeError } from '../errors/index.js';
import { readRawObject } from './objects.js';
import { parseTreeEntries } from './tree-entries.js';

/** Bounds on one tree read. */
export interface ReadTreeLimits {
  /** Most files returned (default 10,000). */
  maxFiles?: number;
  /** Most bytes of returned blobs, summed (default 64 MiB). */
  maxBytes?: number;
  /** Most tree entries walked, included or not (default 200,000). */
  maxEntries?: number;
}

/** What to read: a commit (or tree) oid in a gitdir and which file paths to return. */
export interface ReadTreeOptions {
  gitdir: string;
  oid: string;
  /** Which file paths (slash-separated, relative to the root) to return; default all. */
  include?: (path: string) => boolean;
  limits?: ReadTreeLimits;
  /** isomorphic-git's pack cache, reusable across calls. */
  cache?: object;
}

/**
 * Reads the files of commit (or tree) `oid` as git objects, never checking anything out (no hooks,
 * no submodules, no LFS, no filters). Returns path → exact blob bytes for included regular files.
 *
 * Refuses the whole read with UnsafeTreeError (data.path, data.reason) when: any entry anywhere is named
 * `.`, `..`, a case variant of `.git`, or holds `/`, `\` or NUL; any entry has an unknown mode or a name
 * twice; any submodule (mode 160000) exists; or an included path is a symlink (mode 120000). Limits
 * breached → SizeLimitError. Missing objects → NotFoundError, read failures → GitError.
 */
export async function readTreeFiles(options: ReadTreeOptions): Promise<Map<string, Uint8Array>> {
  const include = options.include ?? (() => true);
  const maxFiles = options.limits?.maxFiles ?? 10_000;
  const maxBytes = options.limits?.maxBytes ?? 64 * 1024 * 1024;
  const maxEntries = options.limits?.maxEntries ?? 200_000;
  const cache = options.cache ?? {};
  const files = new Map<string, Uint8Array>();
  let bytes = 0;
  let walked = 0;

  let root = await readRawObject(options.gitdir, options.oid, cache);
  if (root.type === 'commit') {
    const m = /^tree ([0-9a-f]{40})\n/.exec(Buffer.from(root.bytes.subarray(0, 46)).toString('latin1'));
    if (!m?.[1]) throw new UnsafeTreeError(`commit ${options.oid} has no tree line`, { oid: options.oid, reason: 'malformed' });
    root = await readRawObject(options.gitdir, m[1], cache);
  }
  if (root.type !== 'tree') throw new UnsafeTreeError(`object ${options.oid} is not a commit or tree`, { oid: options.oid, reason: 'type' });

  const stack: Array<{ where: string; bytes: Uint8Array }> = [{ where: '', bytes: root.bytes }];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    for (const entry of parseTreeEntries(dir.bytes, dir.where)) {
      walked += 1;
      if (walked > maxEntries) throw new SizeLimitError(`tree of ${options.oid} has more than ${maxEntries} entries`, { oid: options.oid, limit: maxEntries });
      const path = dir.where ? `${dir.where}/${entry.name}` : entry.name;
      if (entry.kind === 'submodule') {
        throw new UnsafeTreeError(`tree entry ${JSON.stringify(path)} is a submodule; the deploy repo may not hold submodules`, { oid: options.oid, path, reason: 'submodule' });
      }
      if (entry.kind === 'tree') {
        const sub = await readRawObject(options.gitdir, entry.oid, cache);
        if (sub.type !== 'tree') throw new UnsafeTreeError(`tree entry ${JSON.stringify(path)} is not a tree object`, { oid: options.oid, path, reason: 'type' });
        stack.push({ where: path, bytes: sub.bytes });
        continue;
      }
      if (!include(path)) continue;
      if (entry.kind === 'symlink') {
        throw new UnsafeTreeError(`declaration ${JSON.stringify(path)} is a symlink; declarations must be regular files`, { oid: options.oid, path, reason: 'symlink' });
      }
      const blob = await readRawObject(options.gitdir, entry.oid, cache);
      if (blob.type !== 'blob') throw new UnsafeTreeError(`tree entry ${JSON.stringify(path)} is not a blob`, { oid: options.oid, path, reason: 'type' });
      bytes += blob.bytes.byteLength;
      if (files.size + 1 > maxFiles) throw new SizeLimitError(`commit ${options.oid} has more than ${maxFiles} files to read`, { oid: options.oid, limit: maxFiles });
      if (bytes > maxBytes) throw new SizeLimitError(`files of ${options.oid} exceed ${maxBytes} bytes`, { oid: options.oid, path, limit: maxBytes });
      files.set(path, blob.bytes);
    }
  }
  return files;
}
