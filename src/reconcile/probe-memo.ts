// Whether a coordination store honours conditional writes is a fact about the store, not about a tick: it is
// learned once and kept in the state dir for a day, so tick workers that come and go (and a fleet that all
// ticks when a commit lands) do not write probe objects into the store again and again.
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TransportError } from '../errors/index.js';
import type { ProbeResult } from '../store/probe.js';
import { writeFileAtomic } from '../util/atomic-write.js';

/** How long a probe's answer is trusted before the store is probed again. */
export const PROBE_TTL_MS = 24 * 60 * 60 * 1000;

interface Entry {
  ok: boolean;
  at: string;
  reason?: string;
}

async function readMemo(file: string): Promise<Record<string, Entry>> {
  try {
    const value: unknown = JSON.parse(await readFile(file, 'utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, Entry>) : {};
  } catch {
    // A missing or damaged memo only costs one probe: it is a cache, never a source of trust.
    return {};
  }
}

function fresh(e: Entry | undefined, nowMs: number, ttlMs: number): e is Entry {
  if (e === undefined || typeof e.ok !== 'boolean' || typeof e.at !== 'string') return false;
  const age = nowMs - Date.parse(e.at);
  return age >= 0 && age < ttlMs;
}

/**
 * The remembered answer for `url` when it is younger than `ttlMs`, else the answer of `probe()`, remembered
 * (atomically) when it says something about the store. A transient failure (network, deadline) is not
 * remembered and throws TransportError naming the store, so the tick reports the store as unreachable and
 * the next tick probes again; a store is never marked unsafe for a passing fault.
 */
export async function probeRemembered(o: { file: string; url: string; nowMs: number; ttlMs?: number; probe: () => Promise<ProbeResult> }): Promise<ProbeResult> {
  const memo = await readMemo(o.file);
  const known = memo[o.url];
  if (fresh(known, o.nowMs, o.ttlMs ?? PROBE_TTL_MS)) return { ok: known.ok, ...(known.reason ? { reason: known.reason } : {}) };
  const result = await o.probe();
  if (result.transient) throw new TransportError(result.reason ?? `probing ${o.url} failed`, { store: o.url });
  memo[o.url] = { ok: result.ok, at: new Date(o.nowMs).toISOString(), ...(result.reason ? { reason: result.reason } : {}) };
  await mkdir(dirname(o.file), { recursive: true });
  await writeFileAtomic(o.file, `${JSON.stringify(memo, null, 2)}\n`);
  return result;
}

/**
 * Drops what is remembered of `url` (atomically), so the next probeRemembered probes it again: called the
 * moment a conditional write is seen misbehaving, whatever the TTL says. A memo that cannot be read is
 * already forgotten.
 */
export async function forgetProbe(o: { file: string; url: string }): Promise<void> {
  const memo = await readMemo(o.file);
  if (!(o.url in memo)) return;
  delete memo[o.url];
  await writeFileAtomic(o.file, `${JSON.stringify(memo, null, 2)}\n`);
}
