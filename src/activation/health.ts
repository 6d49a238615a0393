import { HealthCheckError } from '../errors/index.js';
import { describeResult } from './activate.js';
import { realSleep, type Sleep } from './sleep.js';
import { buildCommandEnv, defaultBaseEnv, resolveCommand } from './command-env.js';
import { checkHttp } from './http-check.js';
import { succeeded, type CommandRunner } from './run-command.js';
import type { FlotillaEnv, HealthSpec } from './spec.js';

/** Grace between SIGTERM and SIGKILL for a health command that overran its timeout. */
const HEALTH_KILL_GRACE_MS = 1000;

/** Options of checkHealth. `sleep` is a port so pure-logic tests can run without waiting. */
export interface HealthOptions {
  spec: HealthSpec;
  runner: CommandRunner;
  env: FlotillaEnv;
  generationPath: string;
  baseEnv?: Record<string, string>;
  signal?: AbortSignal;
  sleep?: Sleep;
}

/** Why the last attempt failed, per check (absent = that check passed or is not declared). */
export interface HealthFailures {
  command?: string;
  http?: string;
}

/**
 * The longest checkHealth can take: the initial delay, every attempt's timeout (plus the kill grace of a
 * hung command) and the intervals between attempts. Callers use it to budget a tick or a lease.
 */
export function healthDeadlineMs(spec: HealthSpec): number {
  const attempts = spec.retries + Math.max(1, spec.successThreshold ?? 1);
  return spec.initialDelayMs + attempts * (spec.timeoutMs + HEALTH_KILL_GRACE_MS + 500) + (attempts - 1) * spec.intervalMs;
}

/**
 * Checks a freshly activated generation: waits `initialDelayMs`, then makes up to
 * `retries + successThreshold` attempts `intervalMs` apart (successThreshold defaults to 1). An attempt
 * passes when every declared check (command and/or HTTP GET, run concurrently) passes; the check passes
 * after `successThreshold` passing attempts in a row. Each check is bounded by `timeoutMs` (a hung
 * command's process group is killed, a trickling response aborted), so the whole call ends within
 * healthDeadlineMs(spec). Resolves { ok: true, attempts }. Throws HealthCheckError with data
 * { set, digest, attempts, failures (of the last failing attempt) } when the attempts run out, or when
 * the spec declares no check or an invalid bodyMatch. If `signal` aborts, rejects with its reason.
 */
export async function checkHealth(options: HealthOptions): Promise<{ ok: true; attempts: number }> {
  const { spec, env } = options;
  const sleep = options.sleep ?? realSleep;
  if (spec.command === undefined && spec.http === undefined) {
    throw new HealthCheckError(`health check of ${env.FLOTILLA_SET} declares neither command nor http`, { set: env.FLOTILLA_SET });
  }
  const bodyPattern = compileBodyMatch(spec, env.FLOTILLA_SET);
  const argv = spec.command === undefined ? undefined : resolveCommand(spec.command, options.generationPath, 'health.command');
  const commandEnv = buildCommandEnv(options.baseEnv ?? defaultBaseEnv(), undefined, env, 'health');

  const attemptOnce = async (): Promise<HealthFailures> => {
    const [command, http] = await Promise.all([
      argv === undefined
        ? Promise.resolve(undefined)
        : options
            .runner({ argv, cwd: options.generationPath, env: commandEnv, timeoutMs: spec.timeoutMs, killGraceMs: HEALTH_KILL_GRACE_MS, ...(options.signal !== undefined ? { signal: options.signal } : {}), maxOutputBytes: 4096 })
            .then((r) => (succeeded(r) ? undefined : `command ${describeResult(r)}${tailNote(r.stderrTail || r.stdoutTail)}`)),
      spec.http === undefined
        ? Promise.resolve(undefined)
        : checkHttp(spec.http, bodyPattern, spec.timeoutMs, options.signal).then((r) => r ?? undefined),
    ]);
    const failures: HealthFailures = {};
    if (command !== undefined) failures.command = command;
    if (http !== undefined) failures.http = http;
    return failures;
  };

  if (spec.initialDelayMs > 0) await sleep(spec.initialDelayMs, options.signal);
  let last: HealthFailures = {};
  const threshold = Math.max(1, spec.successThreshold ?? 1);
  const maxAttempts = spec.retries + threshold;
  let streak = 0;
  let attempts = 0;
  for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
    options.signal?.throwIfAborted();
    attempts = attempt;
    const result = await attemptOnce();
    if (result.command === undefined && result.http === undefined) {
      streak += 1;
      if (streak >= threshold) return { ok: true, attempts: attempt };
    } else {
      streak = 0;
      last = result;
    }
    // Not enough attempts left to reach the threshold: stop early.
    if (maxAttempts - attempt < threshold - streak) break;
    if (attempt < maxAttempts && spec.intervalMs > 0) await sleep(spec.intervalMs, options.signal);
  }
  options.signal?.throwIfAborted();
  throw new HealthCheckError(
    `health check of ${env.FLOTILLA_SET} failed after ${attempts} attempt(s): ${[last.command, last.http].filter(Boolean).join('; ')}`,
    { set: env.FLOTILLA_SET, digest: env.FLOTILLA_DIGEST, generation: options.generationPath, attempts, failures: last },
  );
}

function compileBodyMatch(spec: HealthSpec, set: string): RegExp | undefined {
  const source = spec.http?.bodyMatch;
  if (source === undefined) return undefined;
  try {
    return new RegExp(source);
  } catch (err) {
    throw new HealthCheckError(`health.http.bodyMatch of ${set} is not a valid regular expression`, {
      set,
      field: 'health.http.bodyMatch',
      reason: err instanceof Error ? err.message : String(err),
    });
  }
}

function tailNote(tail: string): string {
  const line = tail.trim().split('\n').at(-1) ?? '';
  return line === '' ? '' : `: ${line.slice(0, 200)}`;
}
