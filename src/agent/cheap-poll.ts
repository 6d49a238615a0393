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
 * it and the oldest report in the store are younger than the heartbeat, and the repo's signed expiry (if any) has not passed since. Then the supervisor asks the repo for the branch head and skips the
 * tick when it still equals `last.commit`. Whether a worker is warm does not matter: skipped polls are not
 * ticks, so a worker kept warm by a poll faster than keepWarm still retires (keepWarm counts from the last
 * full tick), and the head check costs no more than the worker's own refs-only sync.
 */
export function mayAnswerPollCheaply(c: PollContext): boolean {
  return pollKind(c) === 'cheap';
}

/**
 * What a poll may learn cheaply: `cheap` (mayAnswerPollCheaply), `heartbeat` (all of that holds but the
 * last tick or the oldest report is a heartbeat old: a tick is due for its report, yet the head can still be read cheaply and
 * handed to it), or `full`.
 */
function pollKind(c: PollContext): 'cheap' | 'heartbeat' | 'full' {
  if (c.reasons.length === 0 || c.reasons.some((r) => r !== 'cron')) return 'full';
  if (c.last === undefined || !c.last.settled || c.last.commit === null) return 'full';
  // Past the repo's signed expiry the same commit must be reported stale now, not at the next heartbeat.
  if (c.last.expiresAtMs !== null && c.nowMs >= c.last.expiresAtMs) return 'full';
  if (c.nowMs - c.last.finishedAtMs < 0) return 'full';
  // The beat is counted from the oldest report in the store, not from the last tick: a tick on a commit
  // that changed nothing for this machine writes no report, and must not put the next beat off.
  const from = Math.min(c.last.finishedAtMs, c.last.heartbeatFromMs ?? c.last.finishedAtMs);
  return c.nowMs - from < c.heartbeatMs ? 'cheap' : 'heartbeat';
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

/**
 * Skip (the head and local state are as the last settled tick left them), or tick and why. `heartbeat`: only
 * the report is due; `knownHead` is the commit the last settled tick ran on, which the tick's sync uses
 * instead of asking git when its cache holds that commit.
 */
export type PollAnswer =
  | { tick: false; commit: string }
  | { tick: true; why: 'heartbeat'; knownHead: string }
  | { tick: true; why: 'not-cheap' | 'state-changed' | 'head-moved' }
  | { tick: true; why: 'head-check-failed'; error: string };

/**
 * Decides whether a trigger needs a full tick. Only a poll allowed by mayAnswerPollCheaply, or one that
 * differs only by a due heartbeat, reads anything: first the local state (an operator's rollback or clear
 * since the tick must be reconciled), then the branch head. A heartbeat poll with the local state unchanged
 * reads no head when a poll read it within a heartbeat (`headReadAtMs`): it ticks with the last tick's commit
 * as `knownHead`, so the tick asks neither the pointer nor git (the report is due, not news: a head that moved since is seen by the next poll, one
 * interval later, as between any two polls; the safety check runs on the next cheap poll). A failed head
 * check is not a skip: the full tick will report why the repo is unreachable.
 */
export async function answerPoll(c: Omit<PollContext, 'last'> & { basis: PollBasis | undefined; headReadAtMs?: number }, probe: PollProbe): Promise<PollAnswer> {
  const basis = c.basis;
  const kind = basis === undefined ? 'full' : pollKind({ ...c, last: basis.last });
  if (basis === undefined || kind === 'full') return { tick: true, why: 'not-cheap' };
  if ((await probe.readStamp(basis.sets)) !== basis.stamp) return { tick: true, why: 'state-changed' };
  const known = basis.last.commit;
  // Only while an earlier poll read the head within a heartbeat: with a heartbeat shorter than the poll
  // interval every poll is a heartbeat poll, and one of them must still look.
  const fresh = c.headReadAtMs !== undefined && c.nowMs - c.headReadAtMs < c.heartbeatMs;
  if (kind === 'heartbeat' && known !== null && fresh) return { tick: true, why: 'heartbeat', knownHead: known };
  let head: string | null;
  try {
    head = await probe.readHead();
  } catch (err) {
    return { tick: true, why: 'head-check-failed', error: err instanceof Error ? err.message : String(err) };
  }
  if (head === null || head !== known) return { tick: true, why: 'head-moved' };
  return kind === 'heartbeat' ? { tick: true, why: 'heartbeat', knownHead: head } : { tick: false, commit: head };
}
