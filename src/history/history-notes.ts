import type { Logger } from 'pino';
import type { HistoryEvent } from './history-record.js';
import { readOutbox, writeOutbox, type Outbox } from './outbox.js';

/**
 * The port a tick notes deployment-log events through. `note` never throws and never waits on the network:
 * it puts the event in the state dir's outbox; the end of the tick appends the outbox to the store.
 */
export interface HistoryNotes {
  note(event: HistoryEvent): Promise<void>;
}

/** True when `event` says nothing new: a pause for a set already held, a resume for one not held. */
function redundant(outbox: Outbox, event: HistoryEvent): boolean {
  const held = outbox.held.includes(event.set);
  return (event.event === 'pause' && held) || (event.event === 'resume' && !held);
}

/**
 * The real HistoryNotes: the outbox file in `stateDir` (read once, then kept for the tick). A pause is
 * noted once when it starts, a resume once when it ends; a failure to write is logged and the event lost,
 * never the tick's.
 */
export function outboxNotes(stateDir: string, log: Logger): HistoryNotes {
  let cached: Outbox | undefined;
  return {
    async note(event) {
      try {
        cached ??= await readOutbox(stateDir, (problem) => log.warn({ problem }, 'deployment-log outbox damaged'));
        if (redundant(cached, event)) return;
        const held = event.event === 'pause' ? [...cached.held, event.set] : event.event === 'resume' ? cached.held.filter((s) => s !== event.set) : cached.held;
        const next: Outbox = { ...cached, pending: [...cached.pending, event], held };
        await writeOutbox(stateDir, next);
        cached = next;
      } catch (err) {
        log.warn({ set: event.set, event: event.event, err: (err as Error).message }, 'could not note a deployment-log event');
      }
    },
  };
}
