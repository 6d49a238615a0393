import { issueAt } from './issue-at.js';
import type { Rule, SetFile } from './rule-types.js';
import type { DeclarationIssue } from './result.js';

function perSet(name: string, fn: (s: SetFile) => DeclarationIssue[]): Rule {
  return { name, check: (input) => input.sets.flatMap(fn) };
}

/** `name:` in a set file, when given, must equal the file name. */
export const setNameMatchesFile = perSet('set-name-matches-file', (s) =>
  s.raw.name !== undefined && s.raw.name !== s.name
    ? [issueAt(s.parsed, '/name', `name "${s.raw.name}" must equal the file name "${s.name}"`, 'set-name-matches-file')]
    : [],
);

/** A set names its machines or selects them by label: exactly one of the two. */
export const machinesOrSelector = perSet('machines-or-selector', (s) => {
  const hasNames = s.raw.machines !== undefined;
  const hasSelector = s.raw.selector !== undefined;
  if (hasNames && hasSelector) return [issueAt(s.parsed, '/selector', 'give machines or selector, not both', 'machines-or-selector', { key: true })];
  if (!hasNames && !hasSelector) return [issueAt(s.parsed, '', 'give machines (names) or selector (labels)', 'machines-or-selector')];
  return [];
});

/** The closure's platform must be declared, in the set or in defaults.platform. */
export const platformRequired = perSet('platform-required', (s) =>
  s.set.platform === '' ? [issueAt(s.parsed, '', 'platform is missing: set platform (e.g. linux/amd64) here or defaults.platform in flotilla.yaml', 'platform-required')] : [],
);

/** batchSize as a percent must be 1%..100%. */
export const percentInRange = perSet('percent-in-range', (s) => {
  const b = s.set.rollout.batchSize;
  if (b.kind !== 'percent' || (b.percent >= 1 && b.percent <= 100)) return [];
  const pointer = s.raw.rollout?.batchSize !== undefined ? '/rollout/batchSize' : '';
  return [issueAt(s.parsed, pointer, `batchSize ${b.percent}% must be between 1% and 100%`, 'percent-in-range')];
});

/** maxUnavailable as a percent must be 0%..100%. */
export const unavailablePercentInRange = perSet('max-unavailable-in-range', (s) => {
  const b = s.set.rollout.maxUnavailable;
  if (b.kind !== 'percent' || b.percent <= 100) return [];
  const pointer = s.raw.rollout?.maxUnavailable !== undefined ? '/rollout/maxUnavailable' : '';
  return [issueAt(s.parsed, pointer, `maxUnavailable ${b.percent}% must be between 0% and 100%`, 'max-unavailable-in-range')];
});

/** unreachableAfter 0 would call every machine that is not Ready yet unreachable, the busy ones too. */
export const unreachableAfterPositive = perSet('unreachable-after-positive', (s) => {
  if (s.set.rollout.unreachableAfterMs > 0) return [];
  const pointer = s.raw.rollout?.unreachableAfter !== undefined ? '/rollout/unreachableAfter' : '';
  return [issueAt(s.parsed, pointer, 'unreachableAfter must be longer than 0 (a machine counts as unreachable only past it and past two of its own status heartbeats)', 'unreachable-after-positive')];
});

/** With machines listed, the canary count cannot exceed them. */
export const canaryWithinSet = perSet('canary-within-set', (s) => {
  if (s.set.selection.kind !== 'names') return [];
  const n = s.set.selection.names.length;
  if (s.set.rollout.canary <= n) return [];
  const pointer = s.raw.rollout?.canary !== undefined ? '/rollout/canary' : '';
  return [issueAt(s.parsed, pointer, `canary ${s.set.rollout.canary} is larger than the set (${n} machine${n === 1 ? '' : 's'})`, 'canary-within-set')];
});

/** An activate block in the set must end up with something to run: a command, drain or undrain (its own or the default's). */
export const activateHasCommand = perSet('activate-has-command', (s) =>
  s.raw.activate !== undefined && s.set.activate === undefined
    ? [issueAt(s.parsed, '/activate', 'activate needs a command, drain or undrain (here or in defaults.activate)', 'activate-has-command', { key: true })]
    : [],
);

/** A health block in the set must end up with a check: a command, an http check, or both. */
export const healthHasCheck = perSet('health-has-check', (s) =>
  s.raw.health !== undefined && s.set.health === undefined
    ? [issueAt(s.parsed, '/health', 'health needs a command or an http check (here or in defaults.health)', 'health-has-check', { key: true })]
    : [],
);

/** health.http.bodyMatch must be a valid regular expression. */
export const bodyMatchCompiles = perSet('body-match-regex', (s) => {
  const src = s.set.health?.http?.bodyMatch;
  if (src === undefined) return [];
  try {
    new RegExp(src, 'u');
    return [];
  } catch (err) {
    const pointer = s.raw.health?.http?.bodyMatch !== undefined ? '/health/http/bodyMatch' : '/health';
    return [issueAt(s.parsed, pointer, `bodyMatch is not a valid regular expression: ${(err as Error).message}`, 'body-match-regex')];
  }
});
