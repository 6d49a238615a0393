import { lstat } from 'node:fs/promises';
import type { Generation } from '../generations/index.js';
import type { ClosureRef } from '../store/closure-ref.js';

/** How long a verified, staged closure is trusted without checking the store again. */
export const STAGED_MEMO_MAX_AGE_MS = 30_000;

interface Entry {
  digest: ClosureRef;
  commit: string;
  generation: Generation;
  atMs: number;
}

/**
 * Closures this process fetched, verified and staged, per set, so a machine waiting at the rollout gate
 * does not re-read manifests, signatures and its object cache on every poll. An entry counts only for the
 * same digest under the same commit (so the same publisher policy and stores), for at most `maxAgeMs` on
 * the monotonic clock (a signature or deployable flag revoked in the store is noticed within that), and
 * while its generation directory still exists (a local `gc` may remove an inactive generation).
 */
export class StagedMemo {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxAgeMs: number = STAGED_MEMO_MAX_AGE_MS) {}

  async recall(set: string, digest: ClosureRef, commit: string, nowMs: number): Promise<Generation | undefined> {
    const e = this.entries.get(set);
    if (e === undefined || e.digest !== digest || e.commit !== commit || nowMs - e.atMs >= this.maxAgeMs) return undefined;
    const st = await lstat(e.generation.path).catch(() => undefined);
    if (st?.isDirectory() !== true) {
      this.entries.delete(set);
      return undefined;
    }
    return e.generation;
  }

  remember(set: string, digest: ClosureRef, commit: string, generation: Generation, nowMs: number): void {
    this.entries.set(set, { digest, commit, generation, atMs: nowMs });
  }

  forget(set: string): void {
    this.entries.delete(set);
  }
}
