import { buildFleetPage, type FleetPage } from '../../src/fleet/fleet-page.js';
import { viewSet } from '../../src/fleet/fleet-view.js';
import type { PauseView, SetReading } from '../../src/fleet/read-fleet.js';
import { planRollout } from '../../src/rollout/planner.js';
import { QUARANTINE_SCHEMA, type QuarantineRecord } from '../../src/rollout/quarantine-record.js';
import { Reason, type ReasonName } from '../../src/status/conditions.js';
import { MACHINE_STATUS_SCHEMA, type MachineState, type MachineStatus } from '../../src/status/machine-status.js';
import { digestFromHex, type Digest } from '../../src/store/digest.js';
import type { SetHistory } from '../../src/history/verify-set-history.js';

export const OLD = digestFromHex('0'.repeat(64));
export const NEW = digestFromHex('1'.repeat(64));
export const NOW = new Date('2026-01-06T12:00:00Z');

/** A report of `machine` in set web: `state` on `digest`, its Ready (and Stalled when stalled) condition at `at`. */
export function report(machine: string, digest: Digest, state: MachineState, reason: ReasonName, message: string, at: string, stalled = false): MachineStatus {
  return {
    schema: MACHINE_STATUS_SCHEMA, machine, set: 'web', desiredDigest: NEW, currentDigest: digest, generation: 3, commit: 'a'.repeat(40), state,
    conditions: [
      { type: 'Ready', status: state === 'Ready' ? 'True' : 'False', reason, message, lastTransitionTime: at },
      ...(stalled ? [{ type: 'Stalled' as const, status: 'True' as const, reason, message, lastTransitionTime: at }] : []),
    ],
    rollout: null, reportedAt: '2026-01-06T11:59:30.000Z', agentVersion: '0.1.0',
  };
}

/**
 * Set web (a, b, c; canary 1, batches of 2) during a failed rollout to NEW: the canary rolled back with a
 * message that tries to be markup, the others wait on the quarantine. Machine names are chosen so the plan
 * is what it is: the canary is whatever the planner puts first.
 */
export function failedRollout(pause: PauseView | null = null, history?: (canary: string) => SetHistory): { page: FleetPage; canary: string } {
  const plan = planRollout({ set: 'web', target: NEW, machines: ['a', 'b', 'c'], settings: { canary: 1, batchSize: { kind: 'count', count: 2 } } });
  const canary = plan.batches[0]![0]!;
  const statuses = new Map<string, MachineStatus>();
  for (const m of plan.order) {
    statuses.set(m, m === canary
      ? report(m, OLD, 'RolledBack', Reason.HealthCheckFailed, '<script>alert(1)</script> & "quoted"', '2026-01-06T11:58:00.000Z', true)
      : report(m, OLD, 'Waiting', Reason.Quarantined, `${NEW} is quarantined`, '2026-01-06T11:58:30.000Z', true));
  }
  const quarantines: QuarantineRecord[] = [{ schema: QUARANTINE_SCHEMA, set: 'web', digest: NEW, failures: [{ machine: canary, reason: Reason.HealthCheckFailed, message: 'exit 1', time: '2026-01-06T11:58:00.000Z' }] }];
  const view = viewSet({
    set: 'web', desiredDigest: NEW, machines: plan.order, batchOf: (m) => plan.batches.findIndex((b) => b.includes(m)), statuses,
    leases: [{ rollout: plan.rolloutId, slot: 0, machine: canary, token: 7, state: 'held' }], quarantines: [{ digest: NEW, machines: [canary] }], now: NOW, staleAfterMs: 600_000,
  });
  const reading: SetReading = { view, plan, canary: 1, statuses, quarantines, pause, ...(history ? { history: history(canary) } : {}) };
  return { page: buildFleetPage([reading], { commit: 'c'.repeat(40), store: 'file:///srv/store', now: NOW }), canary };
}
