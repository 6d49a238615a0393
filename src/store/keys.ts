import { closureKeySegment, type ClosureRef } from './closure-ref.js';
import { digestHex, type Digest } from './digest.js';
import { InvalidNameError } from '../errors/index.js';

/**
 * The one place that knows the store's key layout (identical on every backend):
 *
 *   objects/sha256/ab/abcdef…          file contents and manifests, named by the sha256 of their bytes
 *   signatures/sha256/abcdef…/KEYNAME  detached ed25519 signatures over a manifest digest
 *   flags/deployable/abcdef…           signed "allowed to deploy" flag
 *   packs/sha256/abcdef…               unsigned hint: the packs (objects/…) holding a manifest's objects
 *   pins/NAME                          GC roots
 *   leases/SET/ROLLOUT/slot-N          rollout coordination (…/token: earlier versions' fencing counter)
 *   status/SET/MACHINE.json            what each machine runs and how it went
 *   ready/SET/ROLLOUT/MACHINE          a machine's Ready marker on a rollout (create-if-absent, once)
 *   ready/SET/ROLLOUT/~switching/MACHINE  a hint: the machine passed its gate and is switching (switch-watch.ts)
 *   quarantine/SET/abcdef…             a closure that failed health somewhere
 *   heads/BRANCH.json                  the head pointer: the commit a deploy repo branch points at (head-pointer.ts)
 *   pauses/SET.json                    an operator's emergency pause of a set (flotilla pause / resume)
 *   history/SET/MACHINE/<seq>.json     one signed deployment-log record (seq zero-padded to 12 digits)
 *   history/SET/MACHINE/<a>-<b>.json   a compacted segment holding records a..b verbatim
 *   notifications/SET/ID.json          the claim of one event's notification (created once, by the sender)
 */

// Names that become one path segment: sets, machines, key names, pin names, rollout ids.
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Validates a name used as one key segment (set, machine, key, pin, rollout); throws InvalidNameError. */
export function checkName(name: string, what: string): string {
  if (!NAME_RE.test(name) || name.includes('..')) {
    throw new InvalidNameError(
      `${what} ${JSON.stringify(name.slice(0, 80))} must be 1-128 characters of A-Z a-z 0-9 . _ - starting with a letter or digit`,
      { what, name: name.slice(0, 128) },
    );
  }
  return name;
}

export function objectKey(d: Digest): string {
  const hex = digestHex(d);
  return `objects/sha256/${hex.slice(0, 2)}/${hex}`;
}

export function signaturesPrefix(d: Digest): string {
  return `signatures/sha256/${digestHex(d)}/`;
}

export function signatureKey(d: Digest, keyName: string): string {
  return `${signaturesPrefix(d)}${checkName(keyName, 'key name')}`;
}

export const PACK_HINTS_PREFIX = 'packs/sha256/';

/** `packs/sha256/<manifest hex>`: the pack hint of a manifest (transport only: see packages/pack-format.ts). */
export function packHintKey(manifest: Digest): string {
  return `${PACK_HINTS_PREFIX}${digestHex(manifest)}`;
}

export function deployableFlagKey(d: Digest): string {
  return `flags/deployable/${digestHex(d)}`;
}

export const PINS_PREFIX = 'pins/';
export function pinKey(name: string): string {
  return `${PINS_PREFIX}${checkName(name, 'pin name')}`;
}

/** `leases/SET/`: every rollout's lease directory of a set. */
export function setLeasesPrefix(set: string): string {
  return `leases/${checkName(set, 'set name')}/`;
}

export function leasesPrefix(set: string, rollout: string): string {
  return `leases/${checkName(set, 'set name')}/${checkName(rollout, 'rollout id')}/`;
}

/** `leases/SET/ROLLOUT/token`: the rollout's fencing-token counter. */
export function leaseTokenKey(set: string, rollout: string): string {
  return `${leasesPrefix(set, rollout)}token`;
}

export function leaseKey(set: string, rollout: string, slot: number): string {
  if (!Number.isInteger(slot) || slot < 0) throw new RangeError(`slot must be a non-negative integer, got ${slot}`);
  return `${leasesPrefix(set, rollout)}slot-${slot}`;
}

/** `ready/SET/`: the Ready markers of every rollout of a set. */
export function setReadyPrefix(set: string): string {
  return `ready/${checkName(set, 'set name')}/`;
}

/** `ready/SET/ROLLOUT/`: the Ready markers of one rollout, one key per machine. */
export function readyMarkersPrefix(set: string, rollout: string): string {
  return `${setReadyPrefix(set)}${checkName(rollout, 'rollout id')}/`;
}

/** `ready/SET/ROLLOUT/MACHINE`: `machine` turned Ready on `rollout`'s target. */
export function readyMarkerKey(set: string, rollout: string, machine: string): string {
  return `${readyMarkersPrefix(set, rollout)}${checkName(machine, 'machine name')}`;
}

/**
 * `ready/SET/ROLLOUT/~switching/MACHINE`: `machine` passed its gate on `rollout` and is switching. `~` is in no
 * name, so the segment never meets a machine's marker, and one LIST of the rollout's prefix returns both.
 */
export function switchingMarkerKey(set: string, rollout: string, machine: string): string {
  return `${readyMarkersPrefix(set, rollout)}${SWITCHING_SEGMENT}/${checkName(machine, 'machine name')}`;
}

/** The segment under a rollout's Ready prefix that holds its switching markers. */
export const SWITCHING_SEGMENT = '~switching';

export function statusPrefix(set: string): string {
  return `status/${checkName(set, 'set name')}/`;
}

export function statusKey(set: string, machine: string): string {
  return `${statusPrefix(set)}${checkName(machine, 'machine name')}.json`;
}

export function quarantinePrefix(set: string): string {
  return `quarantine/${checkName(set, 'set name')}/`;
}

export function quarantineKey(set: string, d: ClosureRef): string {
  return `${quarantinePrefix(set)}${closureKeySegment(d)}`;
}

/**
 * `heads/<branch>.json`: one object per followed branch. A branch with slashes (`testing/web-1`) keeps
 * them (each part a plain name); the `.json` suffix lets `heads/testing.json` and `heads/testing/…` coexist.
 * Throws InvalidNameError for a branch whose parts are not plain names.
 */
export function headPointerKey(branch: string): string {
  const parts = branch.split('/');
  for (const p of parts) checkName(p, 'branch name part');
  return `heads/${parts.join('/')}.json`;
}

export const PAUSES_PREFIX = 'pauses/';

/** `pauses/SET.json`: the pause marker every machine of the set reads before it fetches or takes a slot. */
export function pauseKey(set: string): string {
  return `${PAUSES_PREFIX}${checkName(set, 'set name')}.json`;
}

/** `history/SET/`: every machine's deployment log of a set. */
export function historyPrefix(set: string): string {
  return `history/${checkName(set, 'set name')}/`;
}

/** `history/SET/MACHINE/`: one machine's deployment log (its records and compacted segments). */
export function historyMachinePrefix(set: string, machine: string): string {
  return `${historyPrefix(set)}${checkName(machine, 'machine name')}/`;
}

const SEQ_DIGITS = 12;
const MAX_SEQ = 10 ** SEQ_DIGITS - 1;

function paddedSeq(seq: number): string {
  if (!Number.isSafeInteger(seq) || seq < 1 || seq > MAX_SEQ) throw new RangeError(`history seq must be an integer from 1 to ${MAX_SEQ}, got ${seq}`);
  return String(seq).padStart(SEQ_DIGITS, '0');
}

/** `history/SET/MACHINE/<seq>.json`: one record; zero-padded so a listing comes back in chain order. */
export function historyRecordKey(set: string, machine: string, seq: number): string {
  return `${historyMachinePrefix(set, machine)}${paddedSeq(seq)}.json`;
}

/** `history/SET/MACHINE/<first>-<last>.json`: a compacted segment of records first..last. */
export function historySegmentKey(set: string, machine: string, first: number, last: number): string {
  if (last < first) throw new RangeError(`history segment ${first}-${last} is empty`);
  return `${historyMachinePrefix(set, machine)}${paddedSeq(first)}-${paddedSeq(last)}.json`;
}

/** What a key under `history/SET/` names; undefined for anything else (a stray key is skipped, not trusted). */
export type HistoryKey =
  | { kind: 'record'; machine: string; seq: number }
  | { kind: 'segment'; machine: string; first: number; last: number };

const HISTORY_REST_RE = /^([A-Za-z0-9][A-Za-z0-9._-]{0,127})\/(\d{12})(?:-(\d{12}))?\.json$/;

/** Parses the part of a key after `history/SET/` (historyPrefix); undefined when it is no record or segment key. */
export function parseHistoryKey(rest: string): HistoryKey | undefined {
  const m = HISTORY_REST_RE.exec(rest);
  if (!m?.[1] || !m[2] || m[1].includes('..')) return undefined;
  const first = Number(m[2]);
  if (first < 1) return undefined;
  if (m[3] === undefined) return { kind: 'record', machine: m[1], seq: first };
  const last = Number(m[3]);
  return last < first ? undefined : { kind: 'segment', machine: m[1], first, last };
}

/**
 * `notifications/SET/ID.json`: the claim of one event (src/notify/claim.ts), created if absent by the one
 * machine that sends its notification. Throws InvalidNameError for a set or id that is no name.
 */
export function notificationClaimKey(set: string, eventId: string): string {
  return `notifications/${checkName(set, 'set name')}/${checkName(eventId, 'event id')}.json`;
}
