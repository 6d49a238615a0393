import { nextPollAt, pollOffsetMs } from './poll-phase.js';
import type { TriggerLog } from './cron-trigger.js';
import type { RequestOutcome, TriggerReason } from './single-flight.js';

/** Options of startIntervalTrigger. */
export interface IntervalTriggerOptions {
  intervalMs: number;
  /** The machine's name: its poll moment within the interval is a hash of it (see poll-phase.ts). */
  machine: string;
  /** Each firing waits a further random 0..maxRandomDelayMs (the `jitter` setting). Default 0. */
  maxRandomDelayMs?: number;
  request: (reason: TriggerReason) => Promise<RequestOutcome>;
  log?: TriggerLog;
  /** Wall clock (epoch ms); tests of the phase use the pure functions instead. */
  now?: () => number;
  /** Runs `fn` once after `ms` on the same clock as `now`, returning its cancel; default setTimeout (the scale benchmark passes simulated time). */
  after?: (ms: number, fn: () => void) => () => void;
}

function realAfter(ms: number, fn: () => void): () => void {
  const timer = setTimeout(fn, ms);
  return () => clearTimeout(timer);
}

/**
 * Calls `request('cron')` once per interval at this machine's own moment of the interval, plus jitter.
 * A firing while the previous one's tick still runs is skipped (as the cron trigger's noOverlap does).
 * Returns stop(), which also cancels a firing waiting out its random delay.
 */
export function startIntervalTrigger(options: IntervalTriggerOptions): () => Promise<void> {
  const now = options.now ?? Date.now;
  const after = options.after ?? realAfter;
  const offset = pollOffsetMs(options.machine, options.intervalMs);
  const jitter = options.maxRandomDelayMs ?? 0;
  let stopped = false;
  let busy = false;
  let cancel: (() => void) | undefined;
  const fire = (): void => {
    if (busy) return void options.log?.debug({ trigger: 'cron' }, 'previous poll still running; firing skipped');
    busy = true;
    void options
      .request('cron')
      .catch(() => undefined)
      .finally(() => (busy = false));
  };
  const arm = (): void => {
    if (stopped) return;
    const at = nextPollAt(now(), options.intervalMs, offset) + (jitter > 0 ? Math.floor(Math.random() * (jitter + 1)) : 0);
    cancel = after(Math.max(0, at - now()), () => {
      if (stopped) return;
      arm();
      fire();
    });
  };
  arm();
  return () => {
    stopped = true;
    cancel?.();
    return Promise.resolve();
  };
}
