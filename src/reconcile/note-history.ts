import type { HistoryEvent } from '../history/history-record.js';
import type { SetContext } from './context.js';

/** The longest message a log record keeps (the record format allows 4096 characters). */
const MAX_MESSAGE = 2000;

/**
 * Notes one deployment-log event of this set (set, commit and time filled in from the tick) through the
 * context's HistoryNotes port. Never throws and never waits on the network: the port writes the state
 * dir's outbox, appended to the store at the end of the tick. A context without the port logs nothing.
 */
export async function noteHistory(ctx: SetContext, e: Pick<HistoryEvent, 'event' | 'from' | 'to' | 'generation' | 'reason' | 'message'>): Promise<void> {
  if (ctx.history === undefined) return;
  await ctx.history.note({ ...e, set: ctx.set.name, commit: ctx.commit, time: ctx.ports.clock.now().toISOString(), message: e.message.slice(0, MAX_MESSAGE) });
}
