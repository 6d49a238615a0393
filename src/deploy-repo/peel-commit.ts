import { UsageError } from '../errors/index.js';
import { readRawObject } from '../git/objects.js';

// Tags of tags exist; a chain longer than this is a loop or an attack, not a release.
const MAX_TAG_DEPTH = 8;

/**
 * Follows annotated tags from `oid` to the commit they name (a commit is returned as is). Fails with
 * UsageError naming `rev` when it leads to a tree or blob (or a tag chain past 8), NotFoundError/GitError
 * when an object cannot be read.
 */
export async function peelToCommit(gitdir: string, oid: string, rev: string): Promise<string> {
  let current = oid;
  for (let depth = 0; depth <= MAX_TAG_DEPTH; depth++) {
    const obj = await readRawObject(gitdir, current);
    if (obj.type === 'commit') return current;
    if (obj.type !== 'tag') throw new UsageError(`revision ${rev} names a ${obj.type} (${current.slice(0, 12)}), not a commit`, { rev, oid: current });
    const m = /^object ([0-9a-f]{40})\n/.exec(Buffer.from(obj.bytes.subarray(0, 48)).toString('latin1'));
    if (!m?.[1]) throw new UsageError(`revision ${rev}: tag ${current.slice(0, 12)} names no object`, { rev, oid: current });
    current = m[1];
  }
  throw new UsageError(`revision ${rev}: tags nested deeper than ${MAX_TAG_DEPTH}`, { rev, oid });
}
