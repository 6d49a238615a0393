import { describe, expect, it } from 'vitest';
import { toMachineStatus, exitCodeOf, type SetOutcome } from '../../src/reconcile/set-outcome.js';
import { Reason } from '../../src/status/conditions.js';
import type { Digest } from '../../src/store/digest.js';

const A = `sha256:${'a'.repeat(64)}` as Digest;
const B = `sha256:${'b'.repeat(64)}` as Digest;

function outcome(current: Digest, result: SetOutcome['result'] = 'unchanged'): SetOutcome {
  return { set: 'web', desired: current, current, generation: 1, result, reason: Reason.Succeeded, message: '', stalled: false, rollout: null };
}

describe('toMachineStatus', () => {
  const t1 = new Date('2026-01-01T00:00:00Z');
  const t2 = new Date('2026-01-01T00:05:00Z');
  const ctx = { machine: 'm1', commit: null, agentVersion: 'test' };

  it('keeps the Ready transition time while the machine stays Ready on the same digest', () => {
    const first = toMachineStatus(outcome(A), { ...ctx, at: t1 });
    const again = toMachineStatus(outcome(A), { ...ctx, at: t2, previous: first });
    expect(again.conditions.find((c) => c.type === 'Ready')?.lastTransitionTime).toBe(t1.toISOString());
  });

  it('starts a new Ready transition when the digest changed, even if Ready before and after', () => {
    const onA = toMachineStatus(outcome(A), { ...ctx, at: t1 });
    const onB = toMachineStatus(outcome(B, 'converged'), { ...ctx, at: t2, previous: onA });
    expect(onB.conditions.find((c) => c.type === 'Ready')?.lastTransitionTime).toBe(t2.toISOString());
  });

  it('carries the fencing token of the switch while the machine runs that rollout\'s digest, so the next tick is not a change', () => {
    const rollout = { id: 'r1', batch: 2 };
    const switched = toMachineStatus({ ...outcome(A, 'converged'), rollout: { ...rollout, token: 7 } }, { ...ctx, at: t1 });
    const after = toMachineStatus({ ...outcome(A), rollout }, { ...ctx, at: t2, previous: switched });
    expect(after.rollout).toEqual({ ...rollout, token: 7 });
    // Another rollout, or another digest, starts without it.
    expect(toMachineStatus({ ...outcome(A), rollout: { id: 'r2', batch: 0 } }, { ...ctx, at: t2, previous: switched }).rollout).toEqual({ id: 'r2', batch: 0 });
    expect(toMachineStatus({ ...outcome(B), rollout }, { ...ctx, at: t2, previous: switched }).rollout).toEqual(rollout);
  });

  it('maps tick results to the --once exit codes', () => {
    expect(exitCodeOf([outcome(A)], false)).toBe(0);
    expect(exitCodeOf([outcome(A), { ...outcome(B), result: 'waiting' }], false)).toBe(3);
    expect(exitCodeOf([{ ...outcome(B), result: 'waiting' }, { ...outcome(A), result: 'rolled-back' }], false)).toBe(1);
    expect(exitCodeOf([], true)).toBe(1);
  });
});
