
export { leaseTokenKey, setLeasesPrefix } from '../store/keys.js';

/** Parses `slot-K` (the last key segment) into K, or null for any other name. */
export function slotIndexOf(keyTail: string): number | null {
  const m = /^slot-(0|[1-9]\d{0,5})$/.exec(keyTail);
  return m ? Number(m[1]) : null;
}
