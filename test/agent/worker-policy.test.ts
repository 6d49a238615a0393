import { describe, expect, it } from 'vitest';
import type { SetOutcome } from '../../src/reconcile/set-outcome.js';
import { Reason } from '../../src/status/conditions.js';
import { isSettled, lastTickOf, retireAfterMs, type LastTick } from '../../src/agent/worker-policy.js';
import { holdsNewPipes } from '../../src/agent/pipe-holders.js';
import { fromWireError } from '../../src/agent/worker-client.js';
import { ConfigError, InternalError, KeyError } from '../../src/errors/index.js';

const C1 = '1'.repeat(40);

const outcome = (over: Partial<SetOutcome>): SetOutcome => ({
  set: 'web', desired: null, current: null, generation: null, result: 'unchanged', reason: Reason.Succeeded, message: '', stalled: false, rollout: null, ...over,
});
const last = (over: Partial<LastTick> = {}): LastTick => ({ exitCode: 0, commit: C1, finishedAtMs: 1_000_000, settled: true, expiresAtMs: null, heartbeatFromMs: null, ...over });

describe('isSettled', () => {
  const table: Array<[string, Parameters<typeof isSettled>[0], boolean]> = [
    ['converged', { exitCode: 0, outcomes: [outcome({ result: 'converged' })] }, true],
    ['nothing to do', { exitCode: 0, outcomes: [outcome({})] }, true],
    ['waiting at a gate', { exitCode: 3, outcomes: [outcome({ result: 'waiting' })] }, false],
    ['a stalled failure (bad digest)', { exitCode: 1, outcomes: [outcome({}), outcome({ set: 'db', result: 'failed', stalled: true })] }, true],
    ['a transient failure (store down)', { exitCode: 1, outcomes: [outcome({ result: 'failed', stalled: false })] }, false],
    ['a rollback, or a digest remembered as bad (stalled)', { exitCode: 1, outcomes: [outcome({ result: 'rolled-back', stalled: true })] }, true],
    ['a rollback that is not stalled', { exitCode: 1, outcomes: [outcome({ result: 'rolled-back', stalled: false })] }, false],
    ['a stalled failure beside a transient one', { exitCode: 1, outcomes: [outcome({ result: 'failed', stalled: true }), outcome({ set: 'db', result: 'failed', stalled: false })] }, false],
    ['a repo-level error', { exitCode: 1, outcomes: [], error: { code: 'TransportError', message: 'down' } }, false],
  ];
  for (const [name, report, want] of table) it(`${name} → ${want}`, () => expect(isSettled(report)).toBe(want));
});

describe('retireAfterMs', () => {
  it('retires after keepWarm unless the last tick waits or a process holds the worker\'s pipes', () => {
    expect(retireAfterMs(last(), 20_000, false)).toBe(20_000);
    expect(retireAfterMs(last({ exitCode: 1, settled: false }), 20_000, false)).toBe(20_000);
    expect(retireAfterMs(last({ exitCode: 3, settled: false }), 20_000, false)).toBeNull();
    expect(retireAfterMs(last(), 20_000, true)).toBeNull();
    expect(retireAfterMs(undefined, 20_000, false)).toBeNull();
    expect(retireAfterMs(last(), 0, false)).toBe(0);
  });
});

describe('lastTickOf', () => {
  it('keeps the commit, exit code and settledness of a report', () => {
    expect(lastTickOf({ exitCode: 0, commit: C1, outcomes: [outcome({})] }, 5)).toEqual({ exitCode: 0, commit: C1, finishedAtMs: 5, settled: true, expiresAtMs: null, heartbeatFromMs: null });
    expect(lastTickOf({ exitCode: 0, commit: C1, outcomes: [outcome({})], heartbeatFrom: '2026-12-24T00:00:00.000Z' }, 5).heartbeatFromMs).toBe(Date.parse('2026-12-24T00:00:00.000Z'));
    expect(lastTickOf({ exitCode: 0, commit: C1, outcomes: [outcome({})], repoExpiresAt: '2026-12-24T00:00:00.000Z' }, 5).expiresAtMs).toBe(Date.parse('2026-12-24T00:00:00.000Z'));
  });
});

describe('holdsNewPipes', () => {
  it('is true only for pipes absent from the baseline, and when either reading is unknown', () => {
    expect(holdsNewPipes(new Set(['pipe:[1]']), new Set(['pipe:[1]']))).toBe(false);
    expect(holdsNewPipes(new Set(['pipe:[1]']), new Set())).toBe(false);
    expect(holdsNewPipes(new Set(['pipe:[1]']), new Set(['pipe:[1]', 'pipe:[2]']))).toBe(true);
    expect(holdsNewPipes(undefined, new Set())).toBe(true);
    expect(holdsNewPipes(new Set(), undefined)).toBe(true);
  });
});

describe('fromWireError', () => {
  it('rebuilds the same error class with its message and data', () => {
    const e = fromWireError({ code: 'ConfigError', message: 'invalid agent config:\nx', data: { file: 'a.yaml' } });
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.toJSON()).toEqual(new ConfigError('invalid agent config:\nx', { file: 'a.yaml' }).toJSON());
    expect(fromWireError({ code: 'KeyError', message: 'k', data: {} })).toBeInstanceOf(KeyError);
    const unknown = fromWireError({ code: 'EACCES', message: 'denied', data: {} });
    expect(unknown).toBeInstanceOf(InternalError);
    expect(fromWireError({ code: 'defineError', message: 'x', data: {} })).toBeInstanceOf(InternalError);
  });
});
