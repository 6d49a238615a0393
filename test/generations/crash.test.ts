import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  commitSwitch,
  CRASH_POINTS,
  recoverPending,
  rollbackTo,
  stageGeneration,
  switchGeneration,
  type CrashPoint,
} from '../../src/generations/index.js';
import { runChild } from './child-process.js';
import { expectConsistent } from './consistency.js';
import { closure, makeStateDir, requireBuild } from './fixture.js';

const SET = 'web';
let stateDir: string;
let cleanup: () => Promise<void>;
beforeAll(() => requireBuild());
beforeEach(async () => ({ stateDir, cleanup } = await makeStateDir()));
afterEach(async () => cleanup());

async function deployInParent(version: string): Promise<void> {
  const c = await closure(stateDir, version);
  const { generation } = await stageGeneration({ stateDir, set: SET, ...c, origin: {} });
  await switchGeneration(stateDir, SET, generation.number);
  await commitSwitch(stateDir, SET);
}

/**
 * One crash run: optionally a good v1 first, then a child deploying v2 (healthy or not) killed at `at`
 * (a named point) or after `killAfterMs`; then recovery as the agent does it on start, then the checks,
 * then the next tick (v3) must converge.
 */
async function crashRun(opts: { previous: boolean; healthy: boolean; at?: CrashPoint; killAfterMs?: number }): Promise<string> {
  if (opts.previous) await deployInParent('v1');
  const c = await closure(stateDir, 'v2');
  const exit = await runChild('deploy', { stateDir, set: SET, ...c, healthy: opts.healthy }, {
    ...(opts.at ? { crashAt: opts.at } : {}),
    ...(opts.killAfterMs !== undefined ? { killAfterMs: opts.killAfterMs } : {}),
  });
  if (opts.at) expect(exit.signal, `child should die at ${opts.at}; stderr: ${exit.stderr}`).toBe('SIGKILL');
  else expect(exit.signal === 'SIGKILL' || exit.code === 0, exit.stderr).toBe(true);
  const r = await recoverPending(stateDir, SET);
  if (r.action === 'finish') {
    // The agent re-runs activation and health for the pending target, then keeps it or rolls back.
    if (opts.healthy) await commitSwitch(stateDir, SET);
    else await rollbackTo({ stateDir, set: SET, bad: { reason: 'health failed after restart' } });
  }
  const serving = await expectConsistent(stateDir, SET);
  if (opts.previous) expect(['v1', 'v2']).toContain(serving);
  if (!opts.healthy) expect(serving).not.toBe('v2');
  await deployInParent('v3');
  expect(await expectConsistent(stateDir, SET)).toBe('v3');
  return `${r.action}:${serving ?? 'unset'}`;
}

/** The points a run reaches: a healthy one never rolls back, a failed one never commits, and a failed
 * first deployment removes `current` instead of swapping it (no temp link, no rename). */
function pointsFor(healthy: boolean, previous = true): CrashPoint[] {
  const unreached = previous ? [] : ['rollback:after-temp-link', 'rollback:after-rename'];
  return CRASH_POINTS.filter((p) => (healthy ? !p.startsWith('rollback:') : !p.startsWith('commit:')) && !unreached.includes(p));
}

describe('kill -9 during stage, switch, commit and rollback', () => {
  it.each(pointsFor(true))('healthy deploy over a good generation, killed at %s', async (at) => {
    await crashRun({ previous: true, healthy: true, at });
  });

  it.each(CRASH_POINTS.filter((p) => p.startsWith('rollback:')))('failed deploy rolled back, killed at %s', async (at) => {
    await crashRun({ previous: true, healthy: false, at });
  });

  it.each(['switch:after-pending', 'switch:after-rename', 'rollback:after-mark', 'rollback:after-write'] as const)(
    'first deployment that fails, killed at %s',
    async (at) => {
      const outcome = await crashRun({ previous: false, healthy: false, at });
      expect(outcome).toMatch(/:unset$/);
    },
  );
});

describe.runIf(process.env.FLOTILLA_SLOW === '1')('kill -9 at many moments (slow)', () => {
  it('survives every named point in every mode and 40 kills at random moments', { timeout: 600_000 }, async () => {
    const outcomes: string[] = [];
    const runs: Array<Parameters<typeof crashRun>[0]> = [];
    for (const previous of [true, false]) {
      for (const healthy of [true, false]) for (const at of pointsFor(healthy, previous)) runs.push({ previous, healthy, at });
    }
    for (let i = 0; i < 40; i++) runs.push({ previous: i % 3 !== 0, healthy: i % 2 === 0, killAfterMs: 40 + ((i * 37) % 120) });
    expect(runs.length).toBeGreaterThanOrEqual(50);
    for (const run of runs) {
      await cleanup();
      ({ stateDir, cleanup } = await makeStateDir());
      outcomes.push(await crashRun(run));
    }
    // The random kills must have hit both sides of the switch, or they tested little.
    expect(new Set(outcomes).size).toBeGreaterThan(2);
  });
});
