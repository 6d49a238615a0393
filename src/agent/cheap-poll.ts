// The daemon's cheap poll: most cron polls find nothing new, and answering them from a refs-only head check
// keeps an idle agent from starting a tick worker. The rule is pure; the two reads it needs are passed in.
import type { TriggerReason } from './single-flight.js';
import type { LastTick } from './worker-policy.js';

/** Inputs of mayAnswerPollCheaply. */
export interface PollContext {
  reasons: readonly TriggerReason[];
  last: LastTick | undefined;
  nowMs: number;
  /** Longest a machine goes without a full tick (its status report must be refreshed). */
  heartbeatMs: number;
}

/**
 * True when this tick came only from the poll timer, and the last full tick was settled on a known commit,
 * is younger than the heartbeat, and the repo's signed expiry (if any) has not passed since. Then the supervisor asks the repo for the branch head and skips the
 * tick when it still equals `last.commit`. Whether a worker is warm does not matter: skipped polls are not
 * ticks, so a worker kept warm by a poll faster than keepWarm still retires (keepWarm counts from the last
 * full tick), and the head check costs no more than the worker's own refs-only sync.
 */
export function mayAnswerPollCheaply(c: PollContext): boolean {
  if (c.reasons.length === 0 || c.reasons.some((r) => r !== 'cron')) return false;
  if (c.last === undefined || !c.last.settled || c.last.commit === null) return false;
  // Past the repo's signed expiry the same commit must be reported stale now, not at the next heartbeat.
  if (c.last.expiresAtMs !== null && c.nowMs >= c.last.expiresAtMs) return false;
  const age = c.nowMs - c.last.finishedAtMs;
  return age >= 0 && age < c.heartbeatMs;
}

/** What the last full tick left for the next poll to compare against. */
export interface PollBasis {
  last: LastTick;
  /** The sets' state files as that tick left them (readStateStamp). */
  stamp: string;
  sets: readonly string[];
}

/** The reads a cheap answer needs: the state stamp now and the branch head now (null when absent). */
export interface PollProbe {
  readStamp(sets: readonly string[]): Promise<string>;
  readHead(): Promise<string | null>;
}

/** Skip (the head and local state are as the last settled tick left them), or tick and why. */
export type PollAnswer =
  | { tick: false; commit: string }
  | { tick: true; why: 'not-cheap' | 'state-changed' | 'head-moved' }
  | { tick: true; why: 'head-check-failed'; error: string };

/**
 * Decides whether a trigger needs a full tick. Only a poll allowed by mayAnswerPollCheaply reads anything:
 * first the local state (an operator's rollback or clear since the tick must be reconciled), then the
 * branch head. A failed head check is not a skip: the full tick will report why the repo is unreachable.
 */
export async function answerPoll(c: Omit<PollContext, 'last'> & { basis: PollBasis | undefined }, probe: PollProbe): Promise<PollAnswer> {
  const basis = c.basis;
  if (basis === undefined || !mayAnswerPollCheaply({ ...c, last: basis.last })) return { tick: true, why: 'not-cheap' };
  if ((await probe.readStamp(basis.sets)) !== basis.stamp) return { tick: true, why: 'state-changed' };
  let head: string | null;
  try {
    head = await probe.readHead();
  } catch (err) {
    return { tick: true, why: 'head-check-failed', error: err instanceof Error ? err.message : String(err) };
  }
  return head !== null && head === basis.last.commit ? { tick: false, commit: head } : { tick: true, why: 'head-moved' };
}
