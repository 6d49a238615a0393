import { SizeLimitError } from '../errors/index.js';
import { readCommitHeader, type CommitHeader } from './objects.js';

/** Reads commits once per walk (the same commit is often reached through several paths). */
export class CommitReader {
  private readonly seen = new Map<string, CommitHeader & { raw: Uint8Array }>();
  constructor(
    readonly gitdir: string,
    readonly cache: object = {},
  ) {}

  /** The header (and raw bytes) of `oid`; NotFoundError/GitError when unreadable. */
  async read(oid: string): Promise<CommitHeader & { raw: Uint8Array }> {
    let c = this.seen.get(oid);
    if (!c) {
      c = await readCommitHeader(this.gitdir, oid, this.cache);
      this.seen.set(oid, c);
    }
    return c;
  }
}

/**
 * Walks ancestors of `start` breadth-first (start included), not expanding past any commit in `stopAt`
 * (those are not returned). Returns the commits in walk order and whether a stop commit was reached.
 * Missing parents (a shallow or pruned cache) end that path. More than `maxWalk` commits → SizeLimitError.
 */
export async function walkAncestors(
  reader: CommitReader,
  start: string,
  stopAt: ReadonlySet<string>,
  maxWalk: number,
): Promise<{ commits: string[]; reached: boolean }> {
  const commits: string[] = [];
  const visited = new Set<string>([start]);
  const queue = [start];
  let reached = false;
  for (let i = 0; i < queue.length; i++) {
    const oid = queue[i]!;
    if (stopAt.has(oid)) {
      reached = true;
      continue;
    }
    commits.push(oid);
    if (commits.length > maxWalk) {
      throw new SizeLimitError(`history walk from ${start} passed ${maxWalk} commits`, { head: start, limit: maxWalk });
    }
    const header = await reader.read(oid).catch((err: unknown) => {
      if ((err as { code?: string }).code === 'NotFoundError' && oid !== start) return null;
      throw err;
    });
    for (const p of header?.parents ?? []) {
      if (!visited.has(p)) {
        visited.add(p);
        queue.push(p);
      }
    }
  }
  return { commits, reached };
}
