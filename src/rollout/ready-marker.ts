// Ready markers: `ready/SET/ROLLOUT/MACHINE`, one small object a machine creates (create-if-absent, once)
// when its report turns Ready on a rollout's target, so the machines behind it learn "that batch is done"
// from one LIST of the rollout's prefix instead of a GET of every status file.
//
// A marker is trusted no further than the report it follows: it is written only after that report is in
// the store, a failure afterwards writes the quarantine record (which every gate decision reads), and a
// machine withdraws its marker of a digest before it switches away from it, so a marker names a machine
// that still runs the target when the same digest is rolled out again (same rollout id). Markers of a set's
// other rollouts are collected with their lease objects (collect-rollouts.ts, `gc --store`).
import { PreconditionFailedError } from '../errors/index.js';
import type { MachineStatus } from '../status/machine-status.js';
import { isReadyOn } from '../status/readiness.js';
import type { ClosureRef } from '../store/closure-ref.js';
import { checkName, readyMarkerKey, readyMarkersPrefix, SWITCHING_SEGMENT, switchingMarkerKey } from '../store/keys.js';
import { listAll, type Store } from '../store/store.js';

/** The schema tag of a marker's bytes (for people and `gc`; the gate reads only the key). */
export const READY_SCHEMA = 'flotilla.ready/v1';

/** What a marker says: this machine turned Ready on this rollout's target at this time. */
export interface ReadyMarker {
  set: string;
  rolloutId: string;
  digest: ClosureRef;
  machine: string;
  at: Date;
}

/** Creates the marker if absent (one conditional PUT; an existing one is left as it is). Throws store errors. */
export async function writeReadyMarker(store: Store, m: ReadyMarker): Promise<void> {
  const body = JSON.stringify({ schema: READY_SCHEMA, set: m.set, rollout: m.rolloutId, digest: m.digest, machine: m.machine, at: m.at.toISOString() });
  try {
    await store.put(readyMarkerKey(m.set, m.rolloutId, m.machine), Buffer.from(body, 'utf8'), { ifNoneMatch: '*', contentType: 'application/json' });
  } catch (err) {
    if (!(err instanceof PreconditionFailedError)) throw err;
  }
}

/** Deletes `machine`'s marker on `rolloutId` (absent is fine). Throws store errors. */
export async function withdrawReadyMarker(store: Store, set: string, rolloutId: string, machine: string): Promise<void> {
  await store.delete(readyMarkerKey(set, rolloutId, machine));
}

/**
 * The machines with a marker on `rolloutId` of `set`, each with the marker's lastModified (ms since the
 * epoch, by the store's clock; undefined when the backend does not say). One LIST per 1,000 markers. Keys
 * that are not a valid machine name are skipped. Throws store errors.
 */
export async function listReadyMarkers(store: Store, set: string, rolloutId: string): Promise<Map<string, number | undefined>> {
  return (await listRolloutMarkers(store, set, rolloutId)).ready;
}

/** A rollout's markers from one listing: Ready markers and switching markers (machine → lastModified ms). */
export interface RolloutMarkers {
  ready: Map<string, number | undefined>;
  switching: Map<string, number | undefined>;
}

/**
 * The Ready and switching markers of `rolloutId` of `set` from the same LIST(s) as listReadyMarkers (the
 * switching markers sort after every machine name). Invalid names are skipped. Throws store errors.
 */
export async function listRolloutMarkers(store: Store, set: string, rolloutId: string): Promise<RolloutMarkers> {
  const prefix = readyMarkersPrefix(set, rolloutId);
  const switchingPrefix = `${SWITCHING_SEGMENT}/`;
  const out: RolloutMarkers = { ready: new Map(), switching: new Map() };
  for await (const info of listAll(store, prefix)) {
    const tail = info.key.slice(prefix.length);
    const switching = tail.startsWith(switchingPrefix);
    const machine = switching ? tail.slice(switchingPrefix.length) : tail;
    if (machine.includes('/') || !isName(machine)) continue;
    (switching ? out.switching : out.ready).set(machine, info.lastModified?.getTime());
  }
  return out;
}

/**
 * Writes `machine`'s switching marker on `rolloutId` (a plain PUT: a machine switching again after a crash
 * moves its time). Only a hint of when to look (switch-watch.ts): nothing is let through by it, so a lost or
 * stale one costs a late or an extra look, never a switch. Throws store errors.
 */
export async function writeSwitchingMarker(store: Store, set: string, rolloutId: string, machine: string): Promise<void> {
  const body = JSON.stringify({ schema: SWITCHING_SCHEMA, set, rollout: rolloutId, machine });
  await store.put(switchingMarkerKey(set, rolloutId, machine), Buffer.from(body, 'utf8'), { contentType: 'application/json' });
}

/** The schema tag of a switching marker's bytes (for people and `gc`; readers use only the key and its time). */
export const SWITCHING_SCHEMA = 'flotilla.switching/v1';

function isName(s: string): boolean {
  try {
    checkName(s, 'machine name');
    return true;
  } catch {
    return false;
  }
}

/**
 * True when `report` (just written to the store) should be followed by its Ready marker: it is Ready on its
 * own rollout's target and fresh, and `previous` (the report written before it) was not Ready on that same
 * rollout. A machine thus writes its marker once per rollout, with the report that turned it Ready.
 */
export function markerDue(previous: MachineStatus | undefined, report: MachineStatus): boolean {
  const id = report.rollout?.id;
  if (id === undefined || report.currentDigest === null) return false;
  const target = { set: report.set, digest: report.currentDigest, rolloutId: id };
  if (report.desiredDigest !== report.currentDigest || !isReadyOn(report, target, new Date(report.reportedAt), Number.POSITIVE_INFINITY)) return false;
  return previous === undefined || !isReadyOn(previous, target, new Date(previous.reportedAt), Number.POSITIVE_INFINITY);
}

/** Writes the marker of `report` when markerDue says so. Throws store errors (the caller retries with the report). */
export async function markReadyAfterReport(store: Store, previous: MachineStatus | undefined, report: MachineStatus): Promise<void> {
  if (!markerDue(previous, report) || report.rollout === null || report.currentDigest === null) return;
  await writeReadyMarker(store, { set: report.set, rolloutId: report.rollout.id, digest: report.currentDigest, machine: report.machine, at: new Date(report.reportedAt) });
}
