import { promoterKeysPresent, publisherKeysCanonical, receiversWellFormed, storeUrlsUsable, thresholdReachable, uniqueKeyNames } from './rules-config.js';
import { dependsOnAcyclic, dependsOnKnown, uniqueServicePath, uniqueSetNames } from './rules-fleet.js';
import {
  activateHasCommand,
  bodyMatchCompiles,
  canaryWithinSet,
  healthHasCheck,
  machinesOrSelector,
  percentInRange,
  platformRequired,
  setNameMatchesFile,
  unavailablePercentInRange,
  unreachableAfterPositive,
} from './rules-set.js';
import { closureHasStore, nixKeysForNixClosure, nixKeysUsable } from './rules-nix.js';
import { knownTimeZones, windowsOpen } from './rules-windows.js';
import type { Rule, RuleInput } from './rule-types.js';
import type { DeclarationIssue } from './result.js';

/** Every semantic rule, run in this order after the schemas pass. */
export const RULES: readonly Rule[] = [
  setNameMatchesFile,
  uniqueSetNames,
  machinesOrSelector,
  platformRequired,
  percentInRange,
  unavailablePercentInRange,
  unreachableAfterPositive,
  canaryWithinSet,
  healthHasCheck,
  activateHasCommand,
  bodyMatchCompiles,
  dependsOnKnown,
  dependsOnAcyclic,
  uniqueServicePath,
  knownTimeZones,
  windowsOpen,
  thresholdReachable,
  promoterKeysPresent,
  uniqueKeyNames,
  receiversWellFormed,
  publisherKeysCanonical,
  storeUrlsUsable,
  nixKeysUsable,
  closureHasStore,
  nixKeysForNixClosure,
];

/** Runs every rule and returns all issues found (empty: the declarations hold together). */
export function runRules(input: RuleInput): DeclarationIssue[] {
  return RULES.flatMap((r) => r.check(input));
}
