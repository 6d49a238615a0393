import { createTask, validate, type Logger as CronLogger } from 'node-cron';
import { ConfigError } from '../errors/index.js';
import type { RequestOutcome, TriggerReason } from './single-flight.js';
import { compileUtcSchedule, isUtcZone, nextUtcMatch, type UtcSchedule } from './utc-schedule.js';

/** A minimal log port (pino's methods fit). */
export interface TriggerLog {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** Options of startCronTrigger. */
export interface CronTriggerOptions {
  /** node-cron v4 expression; six fields means the first one is seconds (e.g. '*\/30 * * * * *'). */
  schedule: string;
  /** IANA time zone the schedule is read in (default: the process's). */
  timezone?: string;
  /** Each firing waits a random 0..maxRandomDelayMs first, so a fleet does not poll in step. Default 0. */
  maxRandomDelayMs?: number;
  /** The single-flight queue's request; the cron task awaits it, so with noOverlap firings never pile up. */
  request: (reason: TriggerReason) => Promise<RequestOutcome>;
  log?: TriggerLog;
}

/**
 * Schedules `request('cron')` on a node-cron v4 task (seconds field, time zone, random delay, noOverlap:
 * a firing while the previous cron-requested tick is still running is skipped). Throws ConfigError
 * (data.field) for an invalid expression or time zone. Returns stop(): the task is destroyed and a firing
 * still waiting out its random delay is cancelled; a tick already requested is the queue's business.
 */
export function startCronTrigger(options: CronTriggerOptions): () => Promise<void> {
  if (!validate(options.schedule)) {
    throw new ConfigError(`agent.poll.schedule: ${JSON.stringify(options.schedule)} is not a valid cron expression`, {
      field: 'schedule',
      value: options.schedule,
    });
  }
  const delay = options.maxRandomDelayMs ?? 0;
  if (!Number.isInteger(delay) || delay < 0) {
    throw new ConfigError('agent.poll.maxRandomDelayMs must be a non-negative integer', { field: 'maxRandomDelayMs', value: delay });
  }
  if (isUtcZone(options.timezone)) {
    const utc = compileUtcSchedule(options.schedule);
    if (utc !== undefined) return startUtcTask(utc, delay, options);
  }
  if (options.timezone !== undefined) assertTimeZone(options.timezone);
  const task = createTask(
    options.schedule,
    async () => {
      await options.request('cron');
    },
    {
      name: 'flotilla-poll',
      ...(options.timezone !== undefined ? { timezone: options.timezone } : {}),
      noOverlap: true,
      maxRandomDelay: delay,
      logger: toCronLogger(options.log),
    },
  );
  task.on('execution:overlap', () => options.log?.debug({ trigger: 'cron' }, 'previous poll still running; firing skipped'));
  void task.start();
  return async () => {
    await task.destroy();
  };
}

/** Longest single timer: a far firing is reached by re-checking at least hourly (wall clock adjustments). */
const MAX_TIMER_MS = 3_600_000;

/**
 * The same contract as the node-cron task above, for a UTC schedule of plain values: fire at each
 * matching second (after a random 0..delay ms), skip a firing while the previous request is still
 * running, and never touch Intl. Returns stop(), which also cancels a firing waiting out its delay.
 */
function startUtcTask(schedule: UtcSchedule, delay: number, options: CronTriggerOptions): () => Promise<void> {
  let stopped = false;
  let busy = false;
  let last = Date.now();
  let target: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let delayTimer: NodeJS.Timeout | undefined;
  const fire = (): void => {
    if (busy) {
      options.log?.debug({ trigger: 'cron' }, 'previous poll still running; firing skipped');
      return;
    }
    busy = true;
    const go = (): void => {
      delayTimer = undefined;
      if (stopped) return void (busy = false);
      void options
        .request('cron')
        .catch(() => undefined)
        .finally(() => (busy = false));
    };
    const wait = delay > 0 ? Math.floor(Math.random() * (delay + 1)) : 0;
    if (wait === 0) go();
    else delayTimer = setTimeout(go, wait);
  };
  const onTimer = (): void => {
    if (stopped || target === undefined) return;
    // A timer may wake a little early (or an hourly re-check comes first): fire only at the target second.
    if (Date.now() < target - 1000) return void (timer = setTimeout(onTimer, Math.min(target - Date.now(), MAX_TIMER_MS)));
    last = target;
    arm();
    fire();
  };
  const arm = (): void => {
    if (stopped) return;
    // From the later of now and the last target, so an early wake never fires the same second twice.
    target = nextUtcMatch(schedule, Math.max(Date.now(), last));
    if (target === undefined) {
      options.log?.warn({ trigger: 'cron' }, 'poll schedule never fires again');
      return;
    }
    timer = setTimeout(onTimer, Math.min(Math.max(0, target - Date.now()), MAX_TIMER_MS));
  };
  arm();
  return () => {
    stopped = true;
    clearTimeout(timer);
    clearTimeout(delayTimer);
    return Promise.resolve();
  };
}

/** Throws ConfigError unless `zone` is an IANA time zone this Node knows. */
function assertTimeZone(zone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
  } catch {
    throw new ConfigError(`agent.poll.timezone: ${JSON.stringify(zone)} is not a known time zone`, { field: 'timezone', value: zone });
  }
}

/** node-cron logs to the console by default; route its messages to our log (or drop them). */
function toCronLogger(log: TriggerLog | undefined): CronLogger {
  const emit = (msg: string | Error): void => log?.warn({ trigger: 'cron' }, msg instanceof Error ? msg.message : msg);
  return {
    info: (m) => log?.debug({ trigger: 'cron' }, m),
    // node-cron warns on every skipped firing while a tick runs; the execution:overlap handler above already
    // says so at debug level. A slow tick is normal (a health check), not a warning once per second.
    warn: (m) => log?.debug({ trigger: 'cron' }, m),
    error: emit,
    debug: (m) => log?.debug({ trigger: 'cron' }, m instanceof Error ? m.message : m),
  };
}
