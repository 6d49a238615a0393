// What a poll asks to learn the branch head: the head pointer (one conditional GET), git (one ls-refs), or
// nobody (git is backing off). Pure: the supervisor passes the clock and does the I/O; the scale benchmark
// runs the same functions for simulated machines.
import { pollBackoffMs } from '../util/retry-delay.js';

/** The longest git is left alone after failures in a row (Retry-After included). */
export const GIT_BACKOFF_CAP_MS = 10 * 60_000;

/** What the supervisor knows between polls. */
export interface HeadPollState {
  /** The head git last reported (a head check, or a full tick's sync); null before the first. */
  knownHead: string | null;
  /** When git last answered (epoch ms). */
  gitAnsweredAtMs: number;
  /** The pointer as last read (undefined: not read yet, absent or unreadable). */
  pointer?: { etag: string; commit: string };
  /** Git failures in a row, and the moment before which git is not asked again. */
  gitFailures: number;
  gitRetryAtMs: number;
}

/** The state of a supervisor that has asked nobody yet. */
export function initialHeadPollState(): HeadPollState {
  return { knownHead: null, gitAnsweredAtMs: 0, gitFailures: 0, gitRetryAtMs: 0 };
}

/** The settings a plan depends on. */
export interface HeadPollSettings {
  nowMs: number;
  /** True when the last tick's declarations enable the head pointer (and name its store). */
  pointerOn: boolean;
  /** The longest an unchanged pointer is trusted before git is asked (agent config repo.safetyCheck). */
  safetyMs: number;
}

/** What to ask next. */
export type HeadReadPlan =
  | { read: 'pointer'; ifNoneMatch: string | undefined }
  | { read: 'git'; why: 'no-pointer' | 'unknown-head' | 'safety-check' }
  | { read: 'none'; why: 'git-backoff' };

/** True while git failures ask the agent to leave git alone (polls then neither check nor tick). */
export function gitBackingOff(s: HeadPollState, nowMs: number): boolean {
  return nowMs < s.gitRetryAtMs;
}

function gitOrWait(s: HeadPollState, nowMs: number, why: 'no-pointer' | 'unknown-head' | 'safety-check'): HeadReadPlan {
  return gitBackingOff(s, nowMs) ? { read: 'none', why: 'git-backoff' } : { read: 'git', why };
}

/**
 * The next read: git when there is no pointer, no head known yet, or the safety interval since git last
 * answered has passed; else a conditional GET of the pointer with the etag last seen. A git read during a
 * backoff becomes `none`: the poll answers from what it knows and waits.
 */
export function planHeadRead(s: HeadPollState, c: HeadPollSettings): HeadReadPlan {
  if (!c.pointerOn) return gitOrWait(s, c.nowMs, 'no-pointer');
  if (s.knownHead === null) return gitOrWait(s, c.nowMs, 'unknown-head');
  if (c.nowMs - s.gitAnsweredAtMs >= c.safetyMs) return gitOrWait(s, c.nowMs, 'safety-check');
  return { read: 'pointer', ifNoneMatch: s.pointer?.etag };
}

/** What the pointer read found. `failed`: absent, unreachable or unreadable: git is asked instead. */
export type PointerAnswer = { kind: 'not-modified' } | { kind: 'read'; etag: string; commit: string } | { kind: 'failed' };

/**
 * Judges a pointer read: unchanged (304, or a pointer naming the known head or the commit it named before)
 * → the known head, git untouched; moved → ask git (the pointer is a hint: only git says what the branch
 * is, and a pointer naming an unsigned, unknown or older commit costs one head check and changes nothing);
 * failed → ask git, never "no news". Returns the next state and the verdict.
 */
export function judgePointer(s: HeadPollState, a: PointerAnswer): { state: HeadPollState; verdict: { head: string } | { askGit: 'pointer-moved' | 'pointer-unavailable' } } {
  if (a.kind === 'failed') {
    const { pointer: _dropped, ...rest } = s;
    return { state: rest, verdict: { askGit: 'pointer-unavailable' } };
  }
  if (a.kind === 'not-modified') {
    if (s.pointer !== undefined && s.knownHead !== null) return { state: s, verdict: { head: s.knownHead } };
    return { state: s, verdict: { askGit: 'pointer-unavailable' } };
  }
  const state = { ...s, pointer: { etag: a.etag, commit: a.commit } };
  const unchanged = a.commit === s.knownHead || a.commit === s.pointer?.commit;
  return unchanged && s.knownHead !== null ? { state, verdict: { head: s.knownHead } } : { state, verdict: { askGit: 'pointer-moved' } };
}

/** The state after git answered with `head` (a head check or a full tick that synced). */
export function gitAnswered(s: HeadPollState, head: string | null, nowMs: number): HeadPollState {
  return { ...s, knownHead: head, gitAnsweredAtMs: nowMs, gitFailures: 0, gitRetryAtMs: 0 };
}

/** The state after git failed: back off from the poll interval, doubling, honouring Retry-After, capped. */
export function gitFailed(s: HeadPollState, nowMs: number, o: { pollIntervalMs: number; retryAfter?: string; random?: () => number }): HeadPollState {
  const failures = s.gitFailures + 1;
  const wait = pollBackoffMs(failures, o.retryAfter, nowMs, { baseMs: o.pollIntervalMs, capMs: GIT_BACKOFF_CAP_MS }, o.random);
  return { ...s, gitFailures: failures, gitRetryAtMs: nowMs + wait };
}
