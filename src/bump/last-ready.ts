import * as fs from 'node:fs';
import git from 'isomorphic-git';
import { parse } from 'yaml';
import { isParseProblem, type MachineStatus, type ParseProblem } from '../status/machine-status.js';
import { isFresh } from '../status/readiness.js';
import { isClosureRef, type ClosureRef } from '../store/closure-ref.js';

const MAX_HISTORY = 1000;

/**
 * The distinct closures sets/NAME.yaml pointed at, newest first, following first parents from `tip` (the
 * main line, as merged). Stops where the file did not exist, or after 1000 commits. Unparsable versions
 * are skipped.
 */
export async function closureHistory(gitdir: string, tip: string, file: string): Promise<ClosureRef[]> {
  const out: ClosureRef[] = [];
  let oid: string | undefined = tip;
  for (let i = 0; oid !== undefined && i < MAX_HISTORY; i++) {
    const blob = await git.readBlob({ fs, gitdir, oid, filepath: file }).catch(() => null);
    if (blob === null) break;
    try {
      const closure: unknown = (parse(Buffer.from(blob.blob).toString('utf8')) as { closure?: unknown } | null)?.closure;
      if (isClosureRef(closure) && !out.includes(closure)) out.push(closure);
    } catch {
      // a broken revision of the file names no closure
    }
    const { commit }: { commit: { parent: string[] } } = await git.readCommit({ fs, gitdir, oid });
    oid = commit.parent[0];
  }
  return out;
}

/** How recent a status report must be to count (either side of `now`), as the rollout gate judges. */
export interface Freshness {
  now: Date;
  staleAfterMs: number;
}

/**
 * True when every member reports, freshly, running `digest` healthily: Ready; RolledBack (the agent
 * health-checked the restored generation); or Waiting (held at a gate or by a quarantine while its current
 * generation, which passed activation and health, keeps running). Failed is ambiguous and does not count,
 * nor does a member that never reported, whose report is unreadable or stale, or that is mid-switch.
 */
export function healthyEverywhere(digest: ClosureRef, members: string[], statuses: ReadonlyMap<string, MachineStatus | ParseProblem>, fresh: Freshness): boolean {
  return members.length > 0 && members.every((m) => {
    const s = statuses.get(m);
    return s !== undefined && !isParseProblem(s) && s.currentDigest === digest && (s.state === 'Ready' || s.state === 'RolledBack' || s.state === 'Waiting') && isFresh(s, fresh.now, fresh.staleAfterMs);
  });
}

/**
 * The newest closure in `history` other than `current` that every member runs healthily, or null (pure).
 */
export function pickLastReady(history: ClosureRef[], current: ClosureRef, members: string[], statuses: ReadonlyMap<string, MachineStatus | ParseProblem>, fresh: Freshness): ClosureRef | null {
  return history.find((d) => d !== current && healthyEverywhere(d, members, statuses, fresh)) ?? null;
}
