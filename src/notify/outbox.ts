import { access, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import type { Receiver } from '../declarations/types.js';
import { notificationBoxDir, notificationFile, parseNotificationFileName } from '../generations/index.js';
import type { ClosureRef } from '../store/closure-ref.js';
import { fsyncDir, writeFileAtomic } from '../util/atomic-write.js';
import type { NotificationEvent } from './event.js';

/** The schema tag of an outbox file. */
export const OUTBOX_SCHEMA = 'flotilla.outbox/v1';

/**
 * One event this machine raised, until it is delivered to every receiver, lost to another machine's claim,
 * or given up on. Everything delivery needs is in it (the store to claim in, the receivers as declared when
 * it was raised), so delivery needs no deploy repo and survives restarts.
 */
export interface OutboxEntry {
  schema: typeof OUTBOX_SCHEMA;
  event: NotificationEvent;
  /** The coordination store's URL (credentials come from the agent config at delivery). */
  coordination: string;
  /** Receivers still to deliver to. */
  pending: Receiver[];
  /** This machine holds the fleet-wide claim (claim.ts). */
  claimed: boolean;
  /**
   * batch-ready and rollout-converged: send only if these machines all report Ready on `target` (this one
   * counts as Ready: it just converged). The last of the batch to finish sees them all.
   */
  readyCheck?: { machines: string[]; target: ClosureRef };
  attempts: number;
  /** ISO: not before this instant (backoff). */
  nextAt: string;
  raisedAt: string;
  lastError?: string;
}

/**
 * Writes `entry` into the outbox unless this event was raised here before (in the outbox or already sent):
 * a stalled machine reports the same stall every tick, and that is one event. Returns whether it was added.
 * Fails with the file system's errors.
 */
export async function enqueueEntry(stateDir: string, entry: OutboxEntry): Promise<boolean> {
  const id = entry.event.id;
  for (const box of ['outbox', 'sent'] as const) {
    if (await exists(notificationFile(stateDir, box, id))) return false;
  }
  await mkdir(notificationBoxDir(stateDir, 'outbox'), { recursive: true });
  await writeFileAtomic(notificationFile(stateDir, 'outbox', id), `${JSON.stringify(entry)}\n`, 0o600);
  return true;
}

/** Rewrites an entry in the outbox (after an attempt). */
export async function saveEntry(stateDir: string, entry: OutboxEntry): Promise<void> {
  await writeFileAtomic(notificationFile(stateDir, 'outbox', entry.event.id), `${JSON.stringify(entry)}\n`, 0o600);
}

/** Moves an entry from the outbox to sent, with its last state written first (`how`: delivered, lost, given up). */
export async function finishEntry(stateDir: string, entry: OutboxEntry, how: 'delivered' | 'lost' | 'not-ready' | 'given-up'): Promise<void> {
  await saveEntry(stateDir, { ...entry, lastError: entry.lastError ?? how });
  await mkdir(notificationBoxDir(stateDir, 'sent'), { recursive: true });
  await rename(notificationFile(stateDir, 'outbox', entry.event.id), notificationFile(stateDir, 'sent', entry.event.id));
  await fsyncDir(notificationBoxDir(stateDir, 'sent'));
  await fsyncDir(notificationBoxDir(stateDir, 'outbox'));
}

/**
 * The entries of one box. A file that is not an outbox entry (damaged, foreign) is skipped, never fatal:
 * one bad file must not stop every other notification. Fails with the file system's errors.
 */
export async function readBox(stateDir: string, box: 'outbox' | 'sent'): Promise<OutboxEntry[]> {
  const names = await readdir(notificationBoxDir(stateDir, box)).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  const out: OutboxEntry[] = [];
  for (const name of names.sort()) {
    const id = parseNotificationFileName(name);
    if (id === undefined) continue;
    const entry = await readEntry(notificationFile(stateDir, box, id));
    if (entry !== undefined && entry.event.id === id) out.push(entry);
  }
  return out;
}

/** Removes sent entries older than `keepMs` (they only guard against raising an event twice). */
export async function pruneSent(stateDir: string, nowMs: number, keepMs: number): Promise<void> {
  const dir = notificationBoxDir(stateDir, 'sent');
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const id = parseNotificationFileName(name);
    if (id === undefined) continue;
    const file = notificationFile(stateDir, 'sent', id);
    const s = await stat(file).catch(() => undefined);
    if (s !== undefined && nowMs - s.mtimeMs > keepMs) await rm(file, { force: true });
  }
}

async function readEntry(file: string): Promise<OutboxEntry | undefined> {
  try {
    const v = JSON.parse(await readFile(file, 'utf8')) as Partial<OutboxEntry>;
    if (v.schema !== OUTBOX_SCHEMA || typeof v.event?.id !== 'string' || !Array.isArray(v.pending) || typeof v.coordination !== 'string') return undefined;
    return v as OutboxEntry;
  } catch {
    return undefined;
  }
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
