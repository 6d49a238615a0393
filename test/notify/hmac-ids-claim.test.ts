// The pure parts of notifications, and the fleet-wide claim on a real directory store: a receiver's check
// of the signature, the ids every machine derives alike, and create-if-absent deciding the one sender.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backoffMs, claimEvent, EVENT_SCHEMA, eventIdOf, signBody, verifyBodySignature, type NotificationEvent } from '../../src/notify/index.js';
import { openStore } from '../../src/store/open-store.js';
import type { ClosureRef } from '../../src/store/closure-ref.js';
import type { Store } from '../../src/store/store.js';

describe('the webhook signature', () => {
  it('is HMAC-SHA256 of the body as RFC 4231 test case 2 computes it', () => {
    expect(signBody(Buffer.from('what do ya want for nothing?'), Buffer.from('Jefe'))).toBe('sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  const body = Buffer.from('{"kind":"digest-quarantined"}\n');
  const secret = Buffer.from('s3cret');
  const good = signBody(body, secret);
  it.each([
    { name: 'the right body and secret', body, secret, header: good, ok: true },
    { name: 'a body changed by one byte', body: Buffer.from('{"kind":"digest-quarantinee"}\n'), secret, header: good, ok: false },
    { name: 'another secret', body, secret: Buffer.from('s3creT'), header: good, ok: false },
    { name: 'no header', body, secret, header: undefined, ok: false },
    { name: 'the hex without its sha256= prefix', body, secret, header: good.slice('sha256='.length), ok: false },
    { name: 'upper-case hex', body, secret, header: good.toUpperCase().replace('SHA256=', 'sha256='), ok: false },
  ])('verifies: $name → $ok', ({ body: b, secret: s, header, ok }) => {
    expect(verifyBodySignature(b, s, header)).toBe(ok);
  });
});

describe('event ids', () => {
  it('are the same for the same event and differ for any other', () => {
    const ids = [
      eventIdOf({ kind: 'rollout-started', rollout: 'r0123456789abcdef' }),
      eventIdOf({ kind: 'rollout-converged', rollout: 'r0123456789abcdef' }),
      eventIdOf({ kind: 'rollout-started', rollout: 'r0123456789abcdee' }),
      eventIdOf({ kind: 'batch-ready', rollout: 'r0123456789abcdef', batch: 0 }),
      eventIdOf({ kind: 'batch-ready', rollout: 'r0123456789abcdef', batch: 1 }),
      eventIdOf({ kind: 'machine-rolled-back', rollout: 'r0123456789abcdef', machine: 'm01' }),
      eventIdOf({ kind: 'machine-rolled-back', rollout: 'r0123456789abcdef', machine: 'm02' }),
      eventIdOf({ kind: 'agent-stalled', rollout: 'r0123456789abcdef', machine: 'm01', reason: 'FetchFailed' }),
      eventIdOf({ kind: 'agent-stalled', rollout: 'r0123456789abcdef', machine: 'm01', reason: 'VerificationFailed' }),
    ];
    expect(new Set(ids).size).toBe(ids.length);
    expect(eventIdOf({ kind: 'batch-ready', rollout: 'r0123456789abcdef', batch: 1 })).toBe('r0123456789abcdef.batch-ready.b1');
    expect(eventIdOf({ kind: 'machine-rolled-back', rollout: 'r0123456789abcdef', machine: 'm01' })).toBe('r0123456789abcdef.machine-rolled-back.m01');
  });

  it('refuses a part that could escape its key segment', () => {
    expect(() => eventIdOf({ kind: 'machine-rolled-back', rollout: 'r1', machine: '../m' })).toThrow(/machine name/);
    expect(() => eventIdOf({ kind: 'batch-ready', rollout: 'r1', batch: -1 })).toThrow(RangeError);
  });
});

describe('retry backoff', () => {
  it('doubles from 1 s to a 5 min cap, shortened by at most a quarter', () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(n, () => 0))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffMs(30, () => 0)).toBe(300_000);
    expect(backoffMs(1, () => 0.999)).toBeGreaterThanOrEqual(750);
  });
});

describe('the fleet-wide claim (directory store)', () => {
  let dir: string;
  let store: Store;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-claim-'));
    store = openStore(dir, { writable: true });
  });
  afterAll(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const event = (machine: string): NotificationEvent => ({
    schema: EVENT_SCHEMA, id: 'r0123456789abcdef.digest-quarantined', kind: 'digest-quarantined', set: 'app', rollout: 'r0123456789abcdef',
    digest: `sha256:${'a'.repeat(64)}` as ClosureRef, commit: 'c'.repeat(40), machine, time: new Date(0).toISOString(),
  });

  it('lets exactly one machine win; the winner still wins after a restart', async () => {
    const results = await Promise.all(['m01', 'm02', 'm03', 'm04'].map(async (m) => [m, await claimEvent(store, event(m), 5000)] as const));
    const winners = results.filter(([, r]) => r === 'won').map(([m]) => m);
    expect(winners).toHaveLength(1);
    expect(await claimEvent(store, event(winners[0] ?? '?'), 5000)).toBe('won');
    const loser = results.find(([, r]) => r === 'lost')?.[0] ?? '?';
    expect(await claimEvent(store, event(loser), 5000)).toBe('lost');
  });
});
