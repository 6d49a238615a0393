import { describe, expect, it } from 'vitest';
import { answerPoll, mayAnswerPollCheaply, type PollBasis, type PollProbe } from '../../src/agent/cheap-poll.js';
import type { LastTick } from '../../src/agent/worker-policy.js';

const HEARTBEAT = 150_000;
const C1 = '1'.repeat(40);
const C2 = '2'.repeat(40);
const T0 = 1_000_000;
const last = (over: Partial<LastTick> = {}): LastTick => ({ exitCode: 0, commit: C1, finishedAtMs: T0, settled: true, expiresAtMs: null, heartbeatFromMs: null, ...over });

describe('mayAnswerPollCheaply (fake clock)', () => {
  const at = (ms: number, over: Partial<Parameters<typeof mayAnswerPollCheaply>[0]> = {}): boolean =>
    mayAnswerPollCheaply({ reasons: ['cron'], last: last(), nowMs: T0 + ms, heartbeatMs: HEARTBEAT, ...over });

  it('answers polls from the head check while the last settled tick is younger than the heartbeat', () => {
    expect(at(1)).toBe(true);
    expect(at(HEARTBEAT - 1)).toBe(true);
    expect(at(HEARTBEAT)).toBe(false);
    expect(at(HEARTBEAT * 3)).toBe(false);
  });

  it('counts the heartbeat from the oldest report in the store, not from a later tick that wrote none', () => {
    // A commit for another set: the machine ticked at T0 but its report is from 100 s before.
    const afterCommit = last({ heartbeatFromMs: T0 - 100_000 });
    expect(at(HEARTBEAT - 100_001, { last: afterCommit })).toBe(true);
    expect(at(HEARTBEAT - 100_000, { last: afterCommit })).toBe(false);
    // A report younger than the tick (never in practice) does not put the beat off either.
    expect(at(HEARTBEAT, { last: last({ heartbeatFromMs: T0 + 50_000 }) })).toBe(false);
  });

  it('answers cheaply until the repo\'s signed expiry, then ticks on every poll', () => {
    const expiring = last({ expiresAtMs: T0 + 60_000 });
    expect(at(59_999, { last: expiring })).toBe(true);
    expect(at(60_000, { last: expiring })).toBe(false);
  });

  const never: Array<[string, number, Partial<Parameters<typeof mayAnswerPollCheaply>[0]>]> = [
    ['a webhook', 1, { reasons: ['webhook'] }],
    ['a poll merged with a watch event', 1, { reasons: ['cron', 'watch'] }],
    ['the start-up tick', 1, { reasons: ['start'] }],
    ['no reason at all', 1, { reasons: [] }],
    ['no tick yet', 1, { last: undefined }],
    ['an unsettled failure', 1, { last: last({ settled: false, exitCode: 1 }) }],
    ['a tick waiting at a gate', 1, { last: last({ settled: false, exitCode: 3 }) }],
    ['an unknown commit', 1, { last: last({ commit: null }) }],
    ['a clock gone back', -1, {}],
    ['the repo\'s signed expiry passing', 10, { last: last({ expiresAtMs: T0 + 5 }) }],
  ];
  for (const [name, ms, over] of never) it(`always runs a full tick after ${name}`, () => expect(at(ms, over)).toBe(false));
});

describe('answerPoll', () => {
  const basis = (over: Partial<LastTick> = {}): PollBasis => ({ last: last(over), stamp: 'stamp-1', sets: ['web'] });
  /** A probe answering from fixed values, recording what it was asked. */
  const probe = (stamp: string, head: string | null | Error): PollProbe & { reads: string[] } => {
    const reads: string[] = [];
    return {
      reads,
      readStamp: (sets) => (reads.push(`stamp:${sets.join(',')}`), Promise.resolve(stamp)),
      readHead: () => {
        reads.push('head');
        if (head instanceof Error) return Promise.reject(head);
        return Promise.resolve(head);
      },
    };
  };
  const table: Array<{ name: string; reasons: string[]; basis: PollBasis | undefined; stamp: string; head: string | null | Error; want: object; reads: string[]; nowMs?: number; headReadAtMs?: number }> = [
    { name: 'an unchanged head and state: skip', reasons: ['cron'], basis: basis(), stamp: 'stamp-1', head: C1, want: { tick: false, commit: C1 }, reads: ['stamp:web', 'head'] },
    { name: 'a moved head', reasons: ['cron'], basis: basis(), stamp: 'stamp-1', head: C2, want: { tick: true, why: 'head-moved' }, reads: ['stamp:web', 'head'] },
    { name: 'a branch gone', reasons: ['cron'], basis: basis(), stamp: 'stamp-1', head: null, want: { tick: true, why: 'head-moved' }, reads: ['stamp:web', 'head'] },
    { name: 'local state changed (an operator rollback): the head is not read', reasons: ['cron'], basis: basis(), stamp: 'stamp-2', head: C1, want: { tick: true, why: 'state-changed' }, reads: ['stamp:web'] },
    { name: 'a failed head check', reasons: ['cron'], basis: basis(), stamp: 'stamp-1', head: new Error('refused'), want: { tick: true, why: 'head-check-failed', error: 'refused' }, reads: ['stamp:web', 'head'] },
    { name: 'a webhook: nothing is read', reasons: ['webhook'], basis: basis(), stamp: 'stamp-1', head: C1, want: { tick: true, why: 'not-cheap' }, reads: [] },
    { name: 'no full tick yet: nothing is read', reasons: ['cron'], basis: undefined, stamp: 'stamp-1', head: C1, want: { tick: true, why: 'not-cheap' }, reads: [] },
    { name: 'an unsettled last tick: nothing is read', reasons: ['cron'], basis: basis({ settled: false, exitCode: 1 }), stamp: 'stamp-1', head: C1, want: { tick: true, why: 'not-cheap' }, reads: [] },
    // The heartbeat is due: the tick runs for its report on the commit it knows; no head is read (pointer or git).
    { name: 'a heartbeat due, the head read by a poll within a heartbeat: tick on the known commit, no head read', reasons: ['cron'], basis: basis(), stamp: 'stamp-1', head: C2, nowMs: T0 + HEARTBEAT, headReadAtMs: T0 + HEARTBEAT - 30_000, want: { tick: true, why: 'heartbeat', knownHead: C1 }, reads: ['stamp:web'] },
    // A heartbeat shorter than the poll interval makes every poll a heartbeat poll: the head is still read.
    { name: 'a heartbeat due, no head read for a heartbeat: the head is read, unchanged', reasons: ['cron'], basis: basis(), stamp: 'stamp-1', head: C1, nowMs: T0 + HEARTBEAT, headReadAtMs: T0 - 1, want: { tick: true, why: 'heartbeat', knownHead: C1 }, reads: ['stamp:web', 'head'] },
    { name: 'a heartbeat due, no head read for a heartbeat: the head is read, moved', reasons: ['cron'], basis: basis(), stamp: 'stamp-1', head: C2, nowMs: T0 + HEARTBEAT, want: { tick: true, why: 'head-moved' }, reads: ['stamp:web', 'head'] },
    { name: 'a heartbeat due with local state changed: a plain tick', reasons: ['cron'], basis: basis(), stamp: 'stamp-2', head: C1, nowMs: T0 + HEARTBEAT, want: { tick: true, why: 'state-changed' }, reads: ['stamp:web'] },
    { name: 'a heartbeat due past the signed expiry: nothing is read', reasons: ['cron'], basis: basis({ expiresAtMs: T0 + 5 }), stamp: 'stamp-1', head: C1, nowMs: T0 + HEARTBEAT, want: { tick: true, why: 'not-cheap' }, reads: [] },
    { name: 'a heartbeat due on an unsettled tick: nothing is read', reasons: ['cron'], basis: basis({ settled: false, exitCode: 3 }), stamp: 'stamp-1', head: C1, nowMs: T0 + HEARTBEAT, want: { tick: true, why: 'not-cheap' }, reads: [] },
  ];
  for (const c of table) {
    it(c.name, async () => {
      const p = probe(c.stamp, c.head);
      const read = c.headReadAtMs !== undefined ? { headReadAtMs: c.headReadAtMs } : {};
      expect(await answerPoll({ reasons: c.reasons, basis: c.basis, nowMs: c.nowMs ?? T0 + 1, heartbeatMs: HEARTBEAT, ...read }, p)).toEqual(c.want);
      expect(p.reads).toEqual(c.reads);
    });
  }
});
