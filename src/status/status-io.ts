import { listAll, type Store } from '../store/store.js';
import { statusKey, statusPrefix } from '../store/keys.js';
import {
  isParseProblem,
  parseMachineStatus,
  serializeMachineStatus,
  type MachineStatus,
  type ParseProblem,
} from './machine-status.js';

/** Status files are small; anything bigger is refused rather than buffered. */
export const MAX_STATUS_BYTES = 64 * 1024;

/**
 * Writes `status` to `status/SET/MACHINE.json` (a plain overwrite: each machine owns its own key).
 * Fails with the store's errors (TransportError, UnsupportedOperationError on a read-only store) and
 * InvalidNameError for a set or machine name that cannot be a key segment.
 */
export async function writeMachineStatus(store: Store, status: MachineStatus): Promise<void> {
  await store.put(statusKey(status.set, status.machine), serializeMachineStatus(status), { contentType: 'application/json' });
}

/**
 * A status read back must be about the key it was stored under: a file copied from another set or
 * machine is a problem, not a report (it could otherwise advance someone else's batch).
 */
function bindToKey(parsed: MachineStatus | ParseProblem, key: string, set: string, machine: string): MachineStatus | ParseProblem {
  if (isParseProblem(parsed)) return parsed;
  if (parsed.set !== set || parsed.machine !== machine) {
    return { key, problem: `${key}: the file says set "${parsed.set}" machine "${parsed.machine}", not "${set}"/"${machine}"` };
  }
  return parsed;
}

/** Reads one machine's status; null when it never reported. A malformed file comes back as a ParseProblem. */
export async function readMachineStatus(store: Store, set: string, machine: string): Promise<MachineStatus | ParseProblem | null> {
  const key = statusKey(set, machine);
  try {
    const bytes = await store.getBytes(key, { maxBytes: MAX_STATUS_BYTES });
    return bindToKey(parseMachineStatus(bytes, key), key, set, machine);
  } catch (err) {
    if (store.isNotFound(err)) return null;
    throw err;
  }
}

/**
 * Reads every `status/SET/*.json`: machine name → status, or ParseProblem for a file that is malformed,
 * too big or about another machine. Keys that are not `NAME.json` are skipped. Fails only on store errors.
 */
export async function readSetStatuses(store: Store, set: string): Promise<Map<string, MachineStatus | ParseProblem>> {
  const prefix = statusPrefix(set);
  const out = new Map<string, MachineStatus | ParseProblem>();
  for await (const info of listAll(store, prefix)) {
    const rest = info.key.slice(prefix.length);
    if (!rest.endsWith('.json') || rest.includes('/')) continue;
    const machine = rest.slice(0, -'.json'.length);
    try {
      const bytes = await store.getBytes(info.key, { maxBytes: MAX_STATUS_BYTES });
      out.set(machine, bindToKey(parseMachineStatus(bytes, info.key), info.key, set, machine));
    } catch (err) {
      if (store.isNotFound(err)) continue; // deleted between list and get
      if (err instanceof Error && 'code' in err && err.code === 'SizeLimitError') {
        out.set(machine, { key: info.key, problem: `${info.key}: larger than ${MAX_STATUS_BYTES} bytes` });
        continue;
      }
      throw err;
    }
  }
  return out;
}
