import git from 'isomorphic-git';
import { GitError, NotFoundError } from '../errors/index.js';
import { readOnlyFsFor } from './read-only-fs.js';

/** A raw git object: its type and its exact stored bytes (no header). */
export interface RawObject {
  type: 'blob' | 'tree' | 'commit' | 'tag';
  bytes: Uint8Array;
}

/**
 * Reads object `oid` from `gitdir` as raw bytes (loose or packed) with isomorphic-git, never touching a work
 * tree. `cache` is isomorphic-git's pack cache, shared across calls for speed; it also keys a read-only
 * fs client that remembers stat/readdir answers, so a cache object must not outlive a fetch into `gitdir`. A missing object is a
 * NotFoundError, any other read failure a GitError; both name the gitdir and oid.
 */
export async function readRawObject(gitdir: string, oid: string, cache?: object): Promise<RawObject> {
  try {
    const c = cache ?? {};
    const result = await git.readObject({ fs: readOnlyFsFor(c), gitdir, oid, format: 'content', cache: c });
    const { type, object } = result;
    if (!(object instanceof Uint8Array) || (type !== 'blob' && type !== 'tree' && type !== 'commit' && type !== 'tag')) {
      throw new Error(`object came back as ${type}, not raw content`);
    }
    return { type, bytes: object };
  } catch (err) {
    if ((err as { code?: string }).code === 'NotFoundError') {
      throw new NotFoundError(`git object ${oid} not found in ${gitdir}`, { gitdir, oid }, { cause: err });
    }
    throw new GitError(`cannot read git object ${oid} in ${gitdir}: ${(err as Error).message}`, { gitdir, oid }, { cause: err });
  }
}

/** The header fields of a commit we need for history checks. */
export interface CommitHeader {
  oid: string;
  tree: string;
  parents: string[];
}

/** Reads a commit's tree and parents from its raw bytes. Fails with GitError when `oid` is not a commit. */
export async function readCommitHeader(gitdir: string, oid: string, cache?: object): Promise<CommitHeader & { raw: Uint8Array }> {
  const obj = await readRawObject(gitdir, oid, cache);
  if (obj.type !== 'commit') throw new GitError(`object ${oid} is a ${obj.type}, not a commit`, { gitdir, oid });
  const text = Buffer.from(obj.bytes).toString('utf8');
  const headerEnd = text.indexOf('\n\n');
  const lines = (headerEnd === -1 ? text : text.slice(0, headerEnd)).split('\n');
  let tree = '';
  const parents: string[] = [];
  for (const line of lines) {
    if (line.startsWith('tree ')) tree = line.slice(5);
    else if (line.startsWith('parent ')) parents.push(line.slice(7));
  }
  if (!/^[0-9a-f]{40}$/.test(tree)) throw new GitError(`commit ${oid} has no valid tree line`, { gitdir, oid });
  return { oid, tree, parents, raw: obj.bytes };
}
