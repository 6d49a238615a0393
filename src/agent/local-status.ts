import { readFile } from 'node:fs/promises';
import { StateError } from '../errors/index.js';
import { localStatusFile } from '../generations/layout.js';
import { findCondition, Reason, type ReasonName } from '../status/conditions.js';
import { isParseProblem, parseMachineStatus } from '../status/machine-status.js';

/** What holds a waiting set back, in an operator's words. */
export type WaitsFor = 'batch' | 'pause-between-batches' | 'window' | 'dependency' | 'slot' | 'pause' | 'suspension';

const WAITS_FOR: Partial<Record<ReasonName, WaitsFor>> = {
  [Reason.WaitingForBatch]: 'batch',
  [Reason.WaitingForPause]: 'pause-between-batches',
  [Reason.WaitingForWindow]: 'window',
  [Reason.WaitingForDependency]: 'dependency',
  [Reason.WaitingForSlot]: 'slot',
  [Reason.Paused]: 'pause',
  [Reason.Suspended]: 'suspension',
};

/** One set on this machine, as the last tick left it in STATE/status.json. */
export interface LocalSetStatus {
  set: string;
  desiredDigest: string | null;
  currentDigest: string | null;
  generation: number | null;
  state: string;
  reason: ReasonName;
  message: string;
  waitsFor: WaitsFor | null;
  commit: string | null;
  reportedAt: string;
  /** The Flotilla version of the agent that wrote it. */
  agentVersion: string;
}

/** STATE/status.json, read: when it was written and each set. `found` false when no tick has written it yet. */
export interface LocalStatus {
  found: boolean;
  file: string;
  at: string | null;
  commit: string | null;
  sets: LocalSetStatus[];
}

/**
 * Reads the statuses the last tick wrote to STATE/status.json (no agent needed). The leading condition is
 * Stalled when true, else Reconciling when true (waiting), else Ready. A missing file is `found: false`;
 * a file that is not what the agent writes is a StateError naming it.
 */
export async function readLocalStatus(stateDir: string): Promise<LocalStatus> {
  const file = localStatusFile(stateDir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { found: false, file, at: null, commit: null, sets: [] };
    throw new StateError(`${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { path: file });
  }
  let doc: { at?: unknown; commit?: unknown; sets?: unknown };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch (err) {
    throw new StateError(`${file} is not JSON (${(err as Error).message})`, { path: file });
  }
  if (!Array.isArray(doc.sets)) throw new StateError(`${file} has no sets list; it is not the agent's status file`, { path: file });
  const sets = doc.sets.map((raw, i): LocalSetStatus => {
    const s = parseMachineStatus(JSON.stringify(raw), `${file}#/sets/${i}`);
    if (isParseProblem(s)) throw new StateError(s.problem, { path: file });
    const stalled = findCondition(s.conditions, 'Stalled');
    const reconciling = findCondition(s.conditions, 'Reconciling');
    const lead = stalled?.status === 'True' ? stalled : reconciling?.status === 'True' ? reconciling : findCondition(s.conditions, 'Ready');
    const reason = lead?.reason ?? Reason.Succeeded;
    return {
      set: s.set, desiredDigest: s.desiredDigest, currentDigest: s.currentDigest, generation: s.generation, state: s.state,
      reason, message: lead?.message ?? '', waitsFor: s.state === 'Waiting' ? (WAITS_FOR[reason] ?? null) : null,
      commit: s.commit, reportedAt: s.reportedAt, agentVersion: s.agentVersion,
    };
  });
  return { found: true, file, at: typeof doc.at === 'string' ? doc.at : null, commit: typeof doc.commit === 'string' ? doc.commit : null, sets };
}
