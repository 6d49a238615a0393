import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';

/** Duration of one named step, kept for the tick report and the metrics. */
export interface StepTiming {
  step: string;
  set?: string;
  ms: number;
  ok: boolean;
}

/**
 * Runs one named step of a tick, logs one line with its duration (and set/digest/generation when given),
 * and records its timing. Errors propagate unchanged after being logged: the tick decides what they mean.
 */
export async function runStep<T>(
  timings: StepTiming[],
  log: Logger,
  step: string,
  fields: { set?: string; digest?: string; generation?: number },
  fn: () => Promise<T>,
): Promise<T> {
  const t0 = performance.now();
  try {
    const value = await fn();
    const ms = performance.now() - t0;
    timings.push({ step, ms, ok: true, ...(fields.set ? { set: fields.set } : {}) });
    log.info({ step, ...fields, ms: Math.round(ms * 10) / 10 }, `step ${step} done`);
    return value;
  } catch (err) {
    const ms = performance.now() - t0;
    timings.push({ step, ms, ok: false, ...(fields.set ? { set: fields.set } : {}) });
    const code = (err as { code?: unknown }).code;
    log.warn({ step, ...fields, ms: Math.round(ms * 10) / 10, code, err: (err as Error).message }, `step ${step} failed`);
    throw err;
  }
}
