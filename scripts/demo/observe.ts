import { readQuarantine } from '../../src/rollout/quarantine.js';
import { isParseProblem, type MachineStatus } from '../../src/status/machine-status.js';
import { readSetStatuses } from '../../src/status/status-io.js';
import { parseDigest } from '../../src/store/digest.js';
import { openStore } from '../../src/store/open-store.js';

/** The machines' last reports of `set`, read straight from the store (what `flotilla status` reads too). */
export async function readReports(storeUrl: string, set: string): Promise<Map<string, MachineStatus>> {
  const store = openStore(storeUrl);
  try {
    const out = new Map<string, MachineStatus>();
    for (const [m, s] of await readSetStatuses(store, set)) if (!isParseProblem(s)) out.set(m, s);
    return out;
  } finally {
    await store.close();
  }
}

/** The machines that quarantined `digest` in `set`, or null when it is not quarantined. */
export async function quarantinedBy(storeUrl: string, set: string, digest: string): Promise<string[] | null> {
  const store = openStore(storeUrl);
  try {
    const record = await readQuarantine(store, set, parseDigest(digest));
    return record === null ? null : record.failures.map((f) => f.machine);
  } finally {
    await store.close();
  }
}

/** Polls `check` every 250 ms until it returns a value other than undefined; throws `what` after `timeoutMs`. */
export async function waitUntil<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs / 1000}s waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** One GET of a machine's service: its body, or the error, as text. */
export async function getText(url: string): Promise<string> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return (await r.text()).trim();
  } catch (err) {
    return `(no answer: ${(err as Error).message})`;
  }
}
