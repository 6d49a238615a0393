import { setTimeout as delay } from 'node:timers/promises';

/** Sleep port (a fake clock in unit tests). Rejects with the signal's reason when aborted. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** The real sleep: node's timers/promises. */
export const realSleep: Sleep = async (ms, signal) => {
  await delay(ms, undefined, signal === undefined ? undefined : { signal });
};
