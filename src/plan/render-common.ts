import { displayClosure, isNixStorePath } from '../store/closure-ref.js';
import type { CheckStatus, ClosureChange, PlanSet, RolloutSchedule } from './types.js';

/** The marker CI searches for to update one PR comment instead of adding a new one each run. */
export const PLAN_MARKER = '<!-- flotilla-plan -->';

/** 1536 → "1.5 KiB"; exact bytes under 1 KiB. */
export function formatBytes(n: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  if (n < 1024) return `${n} B`;
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** "1.2 MiB in 3 object(s)", or for a Nix closure "1.2 MiB (4.0 MiB of NARs) in 3 store path(s)". */
export function fetchSummary(d: ClosureChange): string {
  if (d.narBytesToFetch === undefined) return `${formatBytes(d.bytesToFetch)} in ${d.objectsToFetch} object(s)`;
  return `${formatBytes(d.bytesToFetch)} (${formatBytes(d.narBytesToFetch)} of NARs) in ${d.objectsToFetch} store path(s)`;
}

/** sha256:abcdef… shortened to sha256: + 12 hex, a Nix store path to <12 hash chars>-<name>, or "(none)". */
export function short(d: string | null): string {
  if (d !== null && isNixStorePath(d)) return displayClosure(d);
  return d === null ? '(none)' : d.startsWith('sha256:') ? `${d.slice(0, 19)}` : d.slice(0, 12);
}

/** A status as a symbol (markdown) or a word (text). */
export function statusMark(s: CheckStatus, markdown: boolean): string {
  if (!markdown) return s.toUpperCase().padEnd(4);
  return { pass: '✅', fail: '❌', warn: '⚠️', skip: '➖' }[s];
}

/** One phrase for what changes in a set. */
export function changeSummary(s: PlanSet): string {
  if (s.kind === 'added') return 'new set';
  if (s.kind === 'removed') return 'set removed';
  return s.aspects.join(', ');
}

/** "3 machines in 2 batches (canary 1)". */
export function rolloutSummary(s: PlanSet): string {
  const r = s.rollout;
  if (!r) return '-';
  const canary = r.canary > 0 ? `, canary ${r.canary}` : '';
  return `${r.machines} machine(s) in ${r.batches.length} batch(es)${canary}`;
}

/** The worst status of a set's checks. */
export function worst(statuses: CheckStatus[]): CheckStatus {
  for (const s of ['fail', 'warn', 'pass'] as const) if (statuses.includes(s)) return s;
  return 'skip';
}

/** "maxUnavailable 25% (2 machines), unreachableAfter 15m": the budget as declared and, for a percent, resolved. */
export function budgetSummary(r: RolloutSchedule): string {
  const resolved = r.maxUnavailable.endsWith('%') ? ` (${r.maxUnavailableMachines} machine${r.maxUnavailableMachines === 1 ? '' : 's'})` : '';
  return `maxUnavailable ${r.maxUnavailable}${resolved}, unreachableAfter ${r.unreachableAfter}`;
}
