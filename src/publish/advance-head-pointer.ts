// Moves a branch's head pointer forward, with no coordinator: every write is conditional on the pointer
// read just before it (compare-and-swap, or create-if-absent), so two writers racing cannot move it
// backwards; the loser re-reads and finds it already at or past its commit.
import { FlotillaError, PreconditionFailedError, RollbackError } from '../errors/index.js';
import { encodeHeadPointer, MAX_HEAD_POINTER_BYTES, parseHeadPointer } from '../store/head-pointer.js';
import { headPointerKey } from '../store/keys.js';
import type { Store } from '../store/store.js';

/** What to write and how to judge the pointer already there. */
export interface AdvanceHeadOptions {
  store: Store;
  branch: string;
  /** The verified head commit to publish. */
  commit: string;
  /** Who writes (`ci`, a machine name), recorded in the pointer. */
  writer: string;
  /** True when `later` is `earlier` or descends from it (false for a commit the repo does not have). */
  descends(earlier: string, later: string): Promise<boolean>;
  now?: () => Date;
  /** Replace a pointer that names a commit `commit` does not descend from (after a force-push). */
  force?: boolean;
  /** Conditional writes tried before giving up to a busy pointer (default 5). */
  attempts?: number;
}

/** written: the pointer now names `commit`; unchanged: it already did; ahead: it names a descendant of it. */
export type AdvanceHeadResult =
  | { outcome: 'written'; key: string; previous: string | null }
  | { outcome: 'unchanged' | 'ahead'; key: string; current: string };

async function readCurrent(store: Store, key: string, branch: string): Promise<{ etag: string; commit: string | null } | null> {
  let read;
  try {
    read = await store.getBytes(key, { maxBytes: MAX_HEAD_POINTER_BYTES });
  } catch (err) {
    if (store.isNotFound(err)) return null;
    throw err;
  }
  // The etag must belong to the bytes judged: HEAD after the GET, and a change in between fails the CAS.
  const { etag } = await store.head(key);
  try {
    return { etag, commit: parseHeadPointer(read, branch).commit };
  } catch (err) {
    if (err instanceof FlotillaError && err.code === 'IntegrityError') return { etag, commit: null };
    throw err;
  }
}

/**
 * Points `heads/<branch>.json` at `commit` when that moves it forward: absent → created (create-if-absent);
 * naming an ancestor of `commit`, or unreadable → replaced (compare-and-swap on its etag); naming `commit`
 * or a descendant → left alone. A pointer naming a commit `commit` does not descend from (an older branch
 * after a force-push, a commit git does not have) is a RollbackError unless `force`. A lost race re-reads
 * and judges again. The store must support conditional writes (UnsupportedOperationError otherwise).
 */
export async function advanceHeadPointer(o: AdvanceHeadOptions): Promise<AdvanceHeadResult> {
  const key = headPointerKey(o.branch);
  const now = o.now ?? ((): Date => new Date());
  const attempts = o.attempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    const cur = await readCurrent(o.store, key, o.branch);
    if (cur?.commit === o.commit) return { outcome: 'unchanged', key, current: o.commit };
    if (cur?.commit != null && !(await o.descends(cur.commit, o.commit))) {
      if (await o.descends(o.commit, cur.commit)) return { outcome: 'ahead', key, current: cur.commit };
      if (o.force !== true) {
        throw new RollbackError(`head pointer ${key} in ${o.store.url} names ${cur.commit}, which ${o.commit} does not descend from (force-pushed branch, or a commit git does not have); --force replaces it`, { key, url: o.store.url, current: cur.commit, commit: o.commit, reason: 'pointer-not-ancestor' });
      }
    }
    const body = encodeHeadPointer({ branch: o.branch, commit: o.commit, writtenAt: now().toISOString(), writer: o.writer });
    try {
      await o.store.put(key, body, { contentType: 'application/json', ...(cur === null ? { ifNoneMatch: '*' as const } : { ifMatch: cur.etag }) });
      return { outcome: 'written', key, previous: cur?.commit ?? null };
    } catch (err) {
      if (!(err instanceof PreconditionFailedError) || attempt >= attempts) throw err;
    }
  }
}
