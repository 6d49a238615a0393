import type { Logger } from 'pino';
import { readMachineStatus } from '../status/status-io.js';
import { DEFAULT_STALE_AFTER_MS, isReadyOn } from '../status/readiness.js';
import type { Store } from '../store/store.js';
import { runPool } from '../util/run-pool.js';
import { backoffMs, GIVE_UP_AFTER_MS } from './backoff.js';
import { claimEvent } from './claim.js';
import { finishEntry, pruneSent, readBox, saveEntry, type OutboxEntry } from './outbox.js';
import { sendEvent, type SendPorts } from './send.js';

/** How long a sent entry is kept so the same event is not raised twice by this machine. */
const KEEP_SENT_MS = 14 * 24 * 3600_000;
/** Deadline of each store request made for notifications (claims, the ready check). */
const STORE_DEADLINE_MS = 10_000;
/** Entries worked on at once. */
const CONCURRENCY = 4;

/** What delivering the outbox needs: the state dir, this machine, its stores and its senders. */
export interface DeliverPorts extends SendPorts {
  stateDir: string;
  /** The coordination store at `url`, writable, with the agent config's credentials. */
  openStore(url: string): Store;
  now(): Date;
  log: Logger;
}

/**
 * Works through the due entries of the outbox once: checks a batch event still holds, claims the event
 * fleet-wide (a lost claim ends it: another machine sends it), sends it to each receiver not yet served,
 * and either files it as sent or schedules a retry with backoff (given up after a day). Never throws for
 * one entry's failure; returns the earliest instant a remaining entry is due (undefined: none left).
 */
export async function deliverOutbox(ports: DeliverPorts): Promise<Date | undefined> {
  const entries = await readBox(ports.stateDir, 'outbox');
  const now = ports.now();
  const due = entries.filter((e) => Date.parse(e.nextAt) <= now.getTime());
  await runPool(due, CONCURRENCY, async (entry) => {
    try {
      await deliverEntry(entry, ports);
    } catch (err) {
      ports.log.warn({ event: entry.event.id, err: (err as Error).message }, 'notification: could not update the outbox');
    }
  });
  await pruneSent(ports.stateDir, now.getTime(), KEEP_SENT_MS).catch(() => undefined);
  const left = await readBox(ports.stateDir, 'outbox');
  const next = left.map((e) => Date.parse(e.nextAt)).sort((a, b) => a - b)[0];
  return next === undefined ? undefined : new Date(next);
}

async function deliverEntry(entry: OutboxEntry, ports: DeliverPorts): Promise<void> {
  const { event } = entry;
  const log = ports.log.child({ event: event.id, kind: event.kind, set: event.set });
  let current = entry;
  try {
    if (!current.claimed) {
      const store = ports.openStore(current.coordination);
      if (current.readyCheck !== undefined && !(await allReady(store, current, ports.now()))) {
        log.debug('notification: not every machine of the batch is Ready yet; the last one to finish sends it');
        return finishEntry(ports.stateDir, current, 'not-ready');
      }
      if ((await claimEvent(store, event, STORE_DEADLINE_MS)) === 'lost') {
        log.debug('notification: another machine claimed this event');
        return finishEntry(ports.stateDir, current, 'lost');
      }
      current = { ...current, claimed: true };
      await saveEntry(ports.stateDir, current);
    }
  } catch (err) {
    return retryLater(current, `claim: ${(err as Error).message}`, ports, log);
  }
  const failures: string[] = [];
  const pending = [];
  for (const receiver of current.pending) {
    const problem = await sendEvent(receiver, event, ports);
    if (problem === null) {
      log.info({ receiver: receiver.name }, 'notification sent');
      continue;
    }
    failures.push(`${receiver.name}: ${problem}`);
    pending.push(receiver);
  }
  current = { ...current, pending };
  if (pending.length === 0) return finishEntry(ports.stateDir, { ...current, lastError: 'delivered' }, 'delivered');
  return retryLater(current, failures.join('; '), ports, log);
}

async function retryLater(entry: OutboxEntry, problem: string, ports: DeliverPorts, log: Logger): Promise<void> {
  const now = ports.now().getTime();
  const attempts = entry.attempts + 1;
  if (now - Date.parse(entry.raisedAt) > GIVE_UP_AFTER_MS) {
    log.error({ attempts, err: problem }, 'notification given up after a day of failed attempts');
    return finishEntry(ports.stateDir, { ...entry, attempts, lastError: problem }, 'given-up');
  }
  const nextAt = new Date(now + backoffMs(attempts, Math.random));
  log.warn({ attempts, nextAt: nextAt.toISOString(), err: problem }, 'notification not delivered; will retry');
  await saveEntry(ports.stateDir, { ...entry, attempts, nextAt: nextAt.toISOString(), lastError: problem });
}

/** Every machine of the check reports Ready on the target in this rollout (the sender itself counts). */
async function allReady(store: Store, entry: OutboxEntry, now: Date): Promise<boolean> {
  const check = entry.readyCheck;
  if (check === undefined) return true;
  const { set, rollout, machine } = entry.event;
  const others = check.machines.filter((m) => m !== machine);
  const ready = await Promise.all(
    others.map(async (m) => {
      const s = await readMachineStatus(store, set, m);
      return isReadyOn(s ?? undefined, { set, digest: check.target, rolloutId: rollout }, now, DEFAULT_STALE_AFTER_MS);
    }),
  );
  return ready.every(Boolean);
}
