import { formatDuration } from '../util/duration.js';
import type { Declarations, SetDeclaration } from '../declarations/types.js';
import { planRollout } from '../rollout/planner.js';
import { membersOf } from '../rollout/set-plan.js';
import { unavailableBudget } from '../rollout/unavailability.js';
import { evaluateWindows } from '../rollout/windows.js';
import type { ClosureRef } from '../store/closure-ref.js';
import type { RolloutSchedule } from './types.js';

function batchSizeText(set: SetDeclaration): string {
  const b = set.rollout.batchSize;
  return b.kind === 'all' ? 'all' : b.kind === 'count' ? String(b.count) : `${b.percent}%`;
}

function unreachableText(set: SetDeclaration, budget: number): string {
  const silent = `a machine of an earlier batch with no report for ${formatDuration(set.rollout.unreachableAfterMs)} and no slot held is unreachable`;
  if (budget === 0) return `${silent}; with maxUnavailable 0 it stops the rollout until it reports again or leaves the set`;
  return `${silent}; later batches go on while at most ${budget} machine(s) are unreachable, and each converges when it comes back`;
}

function windowText(w: SetDeclaration['rollout']['windows'][number]): string {
  const hh = String(Math.floor(w.startMinute / 60)).padStart(2, '0');
  const mm = String(w.startMinute % 60).padStart(2, '0');
  return `${w.deny ? 'deny' : 'allow'} ${w.days.join(',')} ${hh}:${mm} for ${formatDuration(w.durationMs)} (${w.timeZone})`;
}

/**
 * The rollout schedule of `set` towards `target` as every machine will compute it (pure): batches from the
 * rollout planner (canary first), the pause, the windows evaluated at `now`, and what a failure does.
 */
export function describeRollout(decls: Declarations, set: SetDeclaration, target: ClosureRef, now: Date): RolloutSchedule {
  const settings = set.rollout;
  const members = membersOf(decls, set);
  const plan = planRollout({ set: set.name, target, machines: members, settings });
  const verdict = evaluateWindows(settings.windows, now, settings.overrideWindows);
  const budget = unavailableBudget(settings.maxUnavailable, members.length);
  const canaries = plan.batches.length > 0 && settings.canary > 0 ? 1 : 0;
  return {
    machines: members.length,
    batches: plan.batches.map((machines, index) => ({ index, canary: index < canaries, machines })),
    batchSize: batchSizeText(set),
    canary: settings.canary,
    pauseBetweenBatches: formatDuration(settings.pauseBetweenBatchesMs),
    maxFailures: settings.maxFailures,
    windows: set.rollout.overrideWindows ? ['windows overridden: every batch may start at once'] : set.rollout.windows.map(windowText),
    windowOpenNow: verdict.open,
    nextWindow: verdict.nextOpen === null ? null : verdict.nextOpen.toISOString(),
    dependsOn: [...settings.dependsOn],
    onFailure:
      `a machine whose activation or health check fails rolls back to its previous generation and quarantines ${target} in the store; ` +
      `the rollout stops after ${settings.maxFailures + 1} failure(s) until the set's closure changes (flotilla revert ${set.name}) or an operator runs flotilla unquarantine`,
    maxUnavailable: settings.maxUnavailable.kind === 'count' ? String(settings.maxUnavailable.count) : `${settings.maxUnavailable.percent}%`,
    maxUnavailableMachines: budget,
    unreachableAfter: formatDuration(settings.unreachableAfterMs),
    onUnreachable: unreachableText(set, budget),
  };
}
