// The poll's choice between the head pointer and git, as a table over the pure plan, and the git backoff it
// keeps, including a real HTTP git host answering 429 with Retry-After and then working again.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { GIT_BACKOFF_CAP_MS, gitAnswered, gitBackingOff, gitFailed, initialHeadPollState, judgePointer, planHeadRead, type HeadPollState } from '../../src/agent/head-poll-plan.js';
import { readRemoteHead } from '../../src/git/remote-head.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const T0 = 1_000_000_000;
const SAFETY = 30 * 60_000;
const known = (over: Partial<HeadPollState> = {}): HeadPollState => ({ ...gitAnswered(initialHeadPollState(), A, T0), ...over });

describe('planHeadRead', () => {
  it.each<[string, HeadPollState, { nowMs: number; pointerOn: boolean }, ReturnType<typeof planHeadRead>]>([
    ['no pointer in the repo: git every poll', known(), { nowMs: T0 + 30_000, pointerOn: false }, { read: 'git', why: 'no-pointer' }],
    ['nothing known yet: git', initialHeadPollState(), { nowMs: T0, pointerOn: true }, { read: 'git', why: 'unknown-head' }],
    ['pointer on, first read: unconditional GET', known(), { nowMs: T0 + 30_000, pointerOn: true }, { read: 'pointer', ifNoneMatch: undefined }],
    ['pointer on, read before: conditional GET with its etag', known({ pointer: { etag: 'e1', commit: A } }), { nowMs: T0 + 30_000, pointerOn: true }, { read: 'pointer', ifNoneMatch: 'e1' }],
    ['safety interval passed: git', known({ pointer: { etag: 'e1', commit: A } }), { nowMs: T0 + SAFETY, pointerOn: true }, { read: 'git', why: 'safety-check' }],
    ['git backing off: nobody', known({ gitRetryAtMs: T0 + 60_000 }), { nowMs: T0 + 30_000, pointerOn: false }, { read: 'none', why: 'git-backoff' }],
    ['git backing off, pointer on: the pointer is still read', known({ gitRetryAtMs: T0 + 60_000, pointer: { etag: 'e1', commit: A } }), { nowMs: T0 + 30_000, pointerOn: true }, { read: 'pointer', ifNoneMatch: 'e1' }],
  ])('%s', (_, state, c, want) => {
    expect(planHeadRead(state, { ...c, safetyMs: SAFETY })).toEqual(want);
  });
});

describe('judgePointer', () => {
  it.each<[string, HeadPollState, Parameters<typeof judgePointer>[1], ReturnType<typeof judgePointer>['verdict']]>([
    ['304: the known head, no git', known({ pointer: { etag: 'e1', commit: A } }), { kind: 'not-modified' }, { head: A }],
    ['pointer names the known head: no git', known(), { kind: 'read', etag: 'e1', commit: A }, { head: A }],
    ['pointer moved to a new commit: ask git', known({ pointer: { etag: 'e1', commit: A } }), { kind: 'read', etag: 'e2', commit: B }, { askGit: 'pointer-moved' }],
    ['pointer rewritten with the commit it named (judged before): no git', known({ pointer: { etag: 'e1', commit: C } }), { kind: 'read', etag: 'e2', commit: C }, { head: A }],
    ['pointer absent or unreadable: ask git, never "no news"', known({ pointer: { etag: 'e1', commit: A } }), { kind: 'failed' }, { askGit: 'pointer-unavailable' }],
  ])('%s', (_, state, answer, want) => {
    expect(judgePointer(state, answer).verdict).toEqual(want);
  });

  it('forgets the pointer after a failed read, so the next read is unconditional', () => {
    const { state } = judgePointer(known({ pointer: { etag: 'e1', commit: A } }), { kind: 'failed' });
    expect(planHeadRead(state, { nowMs: T0 + 1, pointerOn: true, safetyMs: SAFETY })).toEqual({ read: 'pointer', ifNoneMatch: undefined });
  });
});

describe('git backoff', () => {
  it('grows from the poll interval with jitter, obeys Retry-After, is capped, and ends on the first answer', () => {
    let s = known();
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      s = gitFailed(s, T0, { pollIntervalMs: 30_000, random: () => 0.5 });
      waits.push(s.gitRetryAtMs - T0);
    }
    expect(waits).toEqual([30_000, 60_000, 120_000, 240_000, 480_000, GIT_BACKOFF_CAP_MS, GIT_BACKOFF_CAP_MS, GIT_BACKOFF_CAP_MS]);
    expect(gitFailed(known(), T0, { pollIntervalMs: 30_000, random: () => 0 }).gitRetryAtMs - T0).toBe(15_000);
    expect(gitFailed(known(), T0, { pollIntervalMs: 30_000, retryAfter: '120' }).gitRetryAtMs - T0).toBe(120_000);
    expect(gitFailed(known(), T0, { pollIntervalMs: 30_000, retryAfter: '86400' }).gitRetryAtMs - T0).toBe(GIT_BACKOFF_CAP_MS);
    expect(gitBackingOff(s, T0 + 1)).toBe(true);
    const answered = gitAnswered(s, B, T0 + 1);
    expect(gitBackingOff(answered, T0 + 2)).toBe(false);
    expect(answered.gitFailures).toBe(0);
  });

  it('a git host answering 429 with Retry-After: the head check fails with both, and is not taken for a v0-only server', async () => {
    let calls = 0;
    const server = createServer((req, res) => {
      calls++;
      req.resume();
      res.writeHead(429, { 'retry-after': '7' }).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/repo.git`;
    try {
      const err = await readRemoteHead({ url, branch: 'main', deadlineMs: 5000 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'TransportError', data: { status: 429, retryAfter: '7' } });
      // One request: a throttled ls-refs is not retried as a v0 advertisement (that would double the load).
      expect(calls).toBe(1);
      const next = gitFailed(known(), T0, { pollIntervalMs: 1000, retryAfter: (err as { data: { retryAfter: string } }).data.retryAfter });
      expect(next.gitRetryAtMs - T0).toBe(7000);
      await readRemoteHead({ url, branch: 'main', deadlineMs: 5000 }).catch(() => undefined);
      expect(calls).toBe(2);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
