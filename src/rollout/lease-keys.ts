import { checkName, leasesPrefix } from '../store/keys.js';

// Two lease keys keys.ts does not build yet. They are derived from keys.ts's own prefix so the layout
// stays in one place; move them into keys.ts (leaseTokenKey, setLeasesPrefix) when convenient.

/** `leases/SET/ROLLOUT/token`: the rollout's fencing-token counter. */
export function leaseTokenKey(set: string, rollout: string): string {
  return `${leasesPrefix(set, rollout)}token`;
}

/** `leases/SET/`: every rollout's lease directory of a set. */
export function setLeasesPrefix(set: string): string {
  return `leases/${checkName(set, 'set name')}/`;
}

/** Parses `slot-K` (the last key segment) into K, or null for any other name. */
export function slotIndexOf(keyTail: string): number | null {
  const m = /^slot-(0|[1-9]\d{0,5})$/.exec(keyTail);
  return m ? Number(m[1]) : null;
}
