import type { Logger } from 'pino';
import type { Store } from '../store/store.js';
import { appendRecord, readTail, type ChainTail } from './append-record.js';
import { compactHistory, HISTORY_COMPACT_AFTER } from './compact-history.js';
import type { MachineKey } from './machine-key.js';
import { readOutbox, writeOutbox, type ChainHead } from './outbox.js';

/** What one flush did: records appended, events left for a later tick, singles compacted; each set's chain head after it. */
export interface FlushResult {
  appended: number;
  left: number;
  compacted: number;
  heads: Record<string, ChainHead>;
}

/** Where and as whom to flush. `compactAfter`: singles kept per machine before compacting (tests lower it). */
export interface FlushInput {
  stateDir: string;
  machine: string;
  store: Store;
  key: MachineKey;
  log: Logger;
  compactAfter?: number;
}

/**
 * Appends the outbox's events to the store, oldest first, each set's events in order: the chain's tail is
 * the head this machine last appended, or read from the store once per set; each append is create-if-absent, and the outbox is rewritten after each
 * success (a crash between the two logs an event twice, never loses one). A set whose append fails keeps its
 * remaining events for the next tick; other sets go on. Every `compactAfter` records a set is compacted.
 * Never throws: every failure is logged, and a rollout never waits on its log.
 */
export async function flushOutbox(input: FlushInput): Promise<FlushResult> {
  const { stateDir, machine, store, key, log } = input;
  const after = input.compactAfter ?? HISTORY_COMPACT_AFTER;
  const result: FlushResult = { appended: 0, left: 0, compacted: 0, heads: {} };
  try {
    const outbox = await readOutbox(stateDir, (problem) => log.warn({ problem }, 'deployment-log outbox damaged'));
    // Heads appended under another machine name belong to that name's chains, not this one's.
    if (outbox.headsOf === machine) result.heads = outbox.heads;
    if (outbox.pending.length === 0) return result;
    const tails = new Map<string, ChainTail | null>();
    const failed = new Set<string>();
    const left = [];
    for (const event of outbox.pending) {
      if (failed.has(event.set)) {
        left.push(event);
        continue;
      }
      try {
        const tail = tails.has(event.set) ? (tails.get(event.set) ?? null) : await knownTail(store, event.set, machine, result.heads[event.set]);
        const done = await appendRecord(store, key, machine, event, tail);
        tails.set(event.set, done.tail);
        result.appended++;
        result.heads = { ...result.heads, [event.set]: { seq: done.tail.seq, sha256: done.tail.hash } };
        await writeOutbox(stateDir, { ...outbox, heads: result.heads, headsOf: machine, pending: [...left, ...outbox.pending.slice(outbox.pending.indexOf(event) + 1)] });
        if (done.record.seq % after === 0) result.compacted += await compacted(store, event.set, machine, after, log);
      } catch (err) {
        failed.add(event.set);
        left.push(event);
        log.warn({ set: event.set, event: event.event, store: store.url, err: (err as Error).message }, 'could not append to the deployment log; retrying next tick');
      }
    }
    result.left = left.length;
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'could not flush the deployment-log outbox; retrying next tick');
  }
  return result;
}

/**
 * Where to append: the head this machine last appended (kept in the outbox) saves a listing and a read per
 * event; without one the store is asked. A head that is behind (another process of this machine appended)
 * costs one lost create-if-absent race, after which appendRecord continues after the record in the way.
 */
async function knownTail(store: Store, set: string, machine: string, head: ChainHead | undefined): Promise<ChainTail | null> {
  return head === undefined ? readTail(store, set, machine) : { seq: head.seq, hash: head.sha256 };
}

async function compacted(store: Store, set: string, machine: string, after: number, log: Logger): Promise<number> {
  try {
    const r = await compactHistory(store, set, machine, after);
    return r === null ? 0 : r.last - r.first + 1;
  } catch (err) {
    log.warn({ set, err: (err as Error).message }, 'could not compact the deployment log; the singles stay');
    return 0;
  }
}
