/** Why a tick was asked for: 'startup', 'cron', 'watch', 'webhook', 'signal', or anything a caller names. */
export type TriggerReason = string;

/** The tick itself (written in src/reconcile/): receives every reason coalesced into this run. */
export type TickFn = (reasons: readonly TriggerReason[]) => Promise<unknown>;

/** What a request learns once its tick is over. `ran: false` when the queue stopped before running it. */
export type RequestOutcome = { ran: true; ok: true; value: unknown } | { ran: true; ok: false; error: unknown } | { ran: false };

/** A snapshot for /healthz and metrics. Times come from the queue's clock port (ms). */
export interface SingleFlightState {
  running: boolean;
  /** When the running tick started, or null when idle. */
  runningSince: number | null;
  pending: boolean;
  stopped: boolean;
  ticks: number;
  lastStartedAt: number | null;
  lastFinishedAt: number | null;
  lastOk: boolean | null;
}

/** The one queue every trigger feeds. */
export interface SingleFlight {
  /**
   * Asks for a tick. Idle: one starts now. During a tick: exactly one more tick runs after it, however many
   * requests arrive meanwhile (they are coalesced and share its outcome). Never rejects; after stop() it
   * resolves { ran: false } at once.
   */
  request(reason: TriggerReason): Promise<RequestOutcome>;
  /** Stops taking requests, lets the running tick finish (a pending one is dropped), then resolves. */
  stop(): Promise<void>;
  state(): SingleFlightState;
}

interface Waiter {
  resolve: (outcome: RequestOutcome) => void;
}

/**
 * Builds the single-flight queue around `tick`: never two ticks at once, a request during a tick causes
 * exactly one more tick afterwards. A tick that throws is reported to its requesters as { ok: false } and
 * to `onError`; the queue keeps going. `now` is a clock port (default Date.now).
 */
export function createSingleFlight(
  tick: TickFn,
  options: { now?: () => number; onError?: (error: unknown, reasons: readonly TriggerReason[]) => void } = {},
): SingleFlight {
  const now = options.now ?? Date.now;
  let current: Promise<void> | null = null;
  let runningSince: number | null = null;
  let pendingReasons: TriggerReason[] = [];
  let pendingWaiters: Waiter[] = [];
  let stopped = false;
  let ticks = 0;
  let lastStartedAt: number | null = null;
  let lastFinishedAt: number | null = null;
  let lastOk: boolean | null = null;

  const runLoop = async (reasons: TriggerReason[], waiters: Waiter[]): Promise<void> => {
    for (;;) {
      runningSince = now();
      lastStartedAt = runningSince;
      ticks += 1;
      let outcome: RequestOutcome;
      try {
        outcome = { ran: true, ok: true, value: await tick(reasons) };
        lastOk = true;
      } catch (error) {
        outcome = { ran: true, ok: false, error };
        lastOk = false;
        options.onError?.(error, reasons);
      }
      lastFinishedAt = now();
      runningSince = null;
      for (const w of waiters) w.resolve(outcome);
      if (stopped || pendingWaiters.length === 0) break;
      reasons = pendingReasons;
      waiters = pendingWaiters;
      pendingReasons = [];
      pendingWaiters = [];
    }
    current = null;
  };

  return {
    request(reason) {
      if (stopped) return Promise.resolve({ ran: false });
      return new Promise<RequestOutcome>((resolve) => {
        if (current === null) {
          current = runLoop([reason], [{ resolve }]);
        } else {
          if (!pendingReasons.includes(reason)) pendingReasons.push(reason);
          pendingWaiters.push({ resolve });
        }
      });
    },
    async stop() {
      stopped = true;
      const dropped = pendingWaiters;
      pendingWaiters = [];
      pendingReasons = [];
      for (const w of dropped) w.resolve({ ran: false });
      await current;
    },
    state() {
      return {
        running: current !== null && runningSince !== null,
        runningSince,
        pending: pendingWaiters.length > 0,
        stopped,
        ticks,
        lastStartedAt,
        lastFinishedAt,
        lastOk,
      };
    },
  };
}
