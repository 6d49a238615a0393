import { randomBytes } from 'node:crypto';
import { FlotillaError, PreconditionFailedError } from '../errors/index.js';
import type { Store } from './store.js';

/**
 * The answer of the probe: `ok` only when every conditional write behaved; `reason` says what did not.
 * `transient`: the probe could not finish for a reason worth retrying (network, deadline, 5xx): it says
 * nothing about the store's conditional writes and must never be remembered as "unsafe".
 */
export interface ProbeResult {
  ok: boolean;
  reason?: string;
  transient?: boolean;
}

// Probe keys live under their own prefix so an interrupted probe never collides with real data.
const PROBE_PREFIX = 'probe/';

async function refused(op: () => Promise<unknown>): Promise<boolean> {
  try {
    await op();
    return false;
  } catch (err) {
    if (err instanceof PreconditionFailedError) return true;
    throw err;
  }
}

/**
 * Proves on the live store, under a fresh `probe/<random>` key, that a second create-if-absent is refused,
 * that a compare-and-swap with a wrong etag is refused and leaves the bytes alone, that one with the right
 * etag succeeds, and that the replaced etag is then stale. Never throws: a read-only or unconditional
 * backend, a server that ignores preconditions, or any error answers `{ ok: false, reason }`. Cleans up.
 */
export async function probeConditionalWrites(store: Store): Promise<ProbeResult> {
  if (!store.capabilities.write) return { ok: false, reason: `${store.url} is read-only` };
  if (store.capabilities.conditionalWrites === 'none') {
    return { ok: false, reason: `${store.url} has no create-if-absent or compare-and-swap` };
  }
  const key = `${PROBE_PREFIX}${randomBytes(12).toString('hex')}`;
  const first = Buffer.from(`flotilla probe ${key} 1`);
  try {
    const { etag } = await store.put(key, first, { ifNoneMatch: '*' });
    if (!(await refused(() => store.put(key, Buffer.from('second'), { ifNoneMatch: '*' })))) {
      return { ok: false, reason: `${store.url} accepted a second create-if-absent of ${key}` };
    }
    const wrong = etag === '0'.repeat(32) ? '1'.repeat(32) : '0'.repeat(32);
    if (!(await refused(() => store.put(key, Buffer.from('wrong'), { ifMatch: wrong })))) {
      return { ok: false, reason: `${store.url} accepted a compare-and-swap with a wrong etag on ${key}` };
    }
    const now = await store.getBytes(key, { maxBytes: 1024 });
    if (!now.equals(first)) return { ok: false, reason: `${store.url} changed ${key} despite a failed precondition` };
    await store.put(key, Buffer.from(`flotilla probe ${key} 2`), { ifMatch: etag });
    if (!(await refused(() => store.put(key, Buffer.from('stale'), { ifMatch: etag })))) {
      return { ok: false, reason: `${store.url} accepted a compare-and-swap with a stale etag on ${key}` };
    }
    return { ok: true };
  } catch (err) {
    const transient = err instanceof FlotillaError && err.retry === 'retry';
    return { ok: false, reason: `probing ${store.url} failed: ${(err as Error).message}`, ...(transient ? { transient } : {}) };
  } finally {
    await store.delete(key).catch(() => undefined);
  }
}
