import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CrashPoint, CrashPoints } from '../../src/generations/crash-points.js';
import { findGeneration, readCurrent, readState, setPaths } from '../../src/generations/index.js';
import { convergeSet } from '../../src/reconcile/converge-set.js';
import { recoverSet } from '../../src/reconcile/recover-set.js';
import { Reason } from '../../src/status/conditions.js';
import { createSetWorld, type SetWorld } from './set-world.js';

let world: SetWorld;
beforeEach(async () => (world = await createSetWorld()));
afterEach(async () => world.cleanup());

/** Stops the switch dead at `point`, as a kill would: what is on disk stays, nothing after it runs. */
function crashAt(point: CrashPoint): CrashPoints {
  return {
    hit(p) {
      if (p === point) throw new Error(`crashed at ${p}`);
    },
  };
}

describe('recoverSet after a crash during the switch', () => {
  it.each([
    { name: 'link moved to a healthy version: recovery activates it, re-runs health, commits', at: 'switch:after-fsync' as const, fail: false, want: { current: 'v2', bad: false, activations: ['v1', 'v2'], next: Reason.Succeeded } },
    { name: 'link moved to an unhealthy version: recovery re-runs health and rolls back', at: 'switch:after-fsync' as const, fail: true, want: { current: 'v1', bad: true, activations: ['v1', 'v2', 'v1'], next: Reason.RolledBack } },
    { name: 'crashed after the activating phase was written, unhealthy: rolls back', at: 'phase:after-write' as const, fail: true, want: { current: 'v1', bad: true, activations: ['v1', 'v2', 'v1'], next: Reason.RolledBack } },
    { name: 'link never moved: the switch is undone, nothing is activated', at: 'switch:after-pending' as const, fail: true, want: { current: 'v1', bad: false, activations: ['v1'], next: Reason.HealthCheckFailed } },
  ])('$name', async ({ at, fail, want }) => {
    const digests = { v1: await world.push('v1'), v2: await world.push('v2', { failHealth: fail }) };
    expect((await convergeSet(world.context({ closure: digests.v1 }))).result).toBe('converged');
    const crashed = await convergeSet(world.context({ closure: digests.v2, crash: crashAt(at) }));
    expect(crashed).toMatchObject({ result: 'failed', reason: Reason.InternalError, message: `crashed at ${at}` });
    expect((await readState(setPaths(world.stateDir, 'web').stateFile)).pending).toMatchObject({ from: 1, to: 2, digest: digests.v2 });

    // A new agent process: recovery runs once per set before its first convergence.
    await recoverSet(world.context({ closure: digests.v2 }));
    const paths = setPaths(world.stateDir, 'web');
    const state = await readState(paths.stateFile);
    const cur = await readCurrent(paths.current);
    expect(cur).toBeDefined();
    expect((await findGeneration(paths, cur!.number)).digest).toBe(digests[want.current as 'v1' | 'v2']);
    expect(state.active).toBe(cur!.number);
    expect(state.pending).toBeUndefined();
    expect(state.rollback).toBeUndefined();
    expect(digests.v2 in state.bad).toBe(want.bad);
    expect(await world.activations()).toEqual(want.activations);
    // The next tick goes on from there: unchanged; refused as remembered bad; or a fresh attempt after an undo.
    expect((await convergeSet(world.context({ closure: digests.v2 }))).reason).toBe(want.next);
  });
});
