import { hasCode } from '../errors/index.js';
import { CommitReader, walkAncestors } from './commit-graph.js';

/**
 * True when `later` is `earlier` or descends from it, walking at most `maxWalk` commits of `later`'s
 * history in `gitdir`. False when the walk ends without meeting `earlier` (a sibling, an older commit) or
 * when `later` is not in this repository. Throws SizeLimitError past the walk cap, GitError for a corrupt object.
 */
export async function isAncestor(gitdir: string, earlier: string, later: string, maxWalk = 10_000): Promise<boolean> {
  if (earlier === later) return true;
  try {
    return (await walkAncestors(new CommitReader(gitdir), later, new Set([earlier]), maxWalk)).reached;
  } catch (err) {
    if (hasCode(err, 'NotFoundError')) return false;
    throw err;
  }
}
