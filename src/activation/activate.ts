import { ActivationError } from '../errors/index.js';
import { buildCommandEnv, defaultBaseEnv, resolveCommand, type Phase } from './command-env.js';
import { succeeded, type CommandResult, type CommandRunner } from './run-command.js';
import { realSleep, type Sleep } from './sleep.js';
import type { ActivationSpec, CommandLine, FlotillaEnv } from './spec.js';

/** Inputs shared by every activation phase. */
export interface PhaseOptions {
  runner: CommandRunner;
  /** Absolute path of the generation being activated: the commands' cwd and base for relative argv[0]. */
  generationPath: string;
  env: FlotillaEnv;
  /** Base environment of the commands; default defaultBaseEnv() (PATH, HOME, locale; no secrets). */
  baseEnv?: Record<string, string>;
  signal?: AbortSignal;
}

/** Options of activateGeneration. `drain`/`undrain` false skip those hooks (when the caller runs them). */
export interface ActivateOptions extends PhaseOptions {
  spec: ActivationSpec;
  sleep?: Sleep;
  drain?: boolean;
  undrain?: boolean;
}

/**
 * Runs one phase's command (drain, activate, undrain) from the generation directory with the FLOTILLA_*
 * environment. Throws ActivationError when it exits non-zero, times out, is aborted or cannot start;
 * `data` carries set, digest, phase, exitCode, signal, timedOut, aborted and the stdout/stderr tails.
 */
export async function runActivationPhase(
  options: PhaseOptions & { phase: Phase; command: CommandLine; timeoutMs: number; declaredEnv?: Record<string, string> | undefined },
): Promise<CommandResult> {
  const argv = resolveCommand(options.command, options.generationPath, options.phase);
  const result = await options.runner({
    argv,
    cwd: options.generationPath,
    env: buildCommandEnv(options.baseEnv ?? defaultBaseEnv(), options.declaredEnv, options.env, options.phase),
    timeoutMs: options.timeoutMs,
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
  });
  if (!succeeded(result)) {
    throw new ActivationError(`${options.phase} of ${options.env.FLOTILLA_SET} failed: ${describeResult(result)}`, {
      set: options.env.FLOTILLA_SET,
      digest: options.env.FLOTILLA_DIGEST,
      generation: options.generationPath,
      phase: options.phase,
      exitCode: result.exitCode,
      signal: result.signal,
      timedOut: result.timedOut,
      aborted: result.aborted,
      spawnError: result.spawnError,
      stdoutTail: result.stdoutTail,
      stderrTail: result.stderrTail,
      durationMs: Math.round(result.durationMs),
    });
  }
  return result;
}

/** Runs the spec's drain hook (if any), then waits `drainGraceMs`. Throws ActivationError (phase "drain"). */
export async function drainMachine(options: PhaseOptions & { spec: ActivationSpec; sleep?: Sleep }): Promise<void> {
  const { drain } = options.spec;
  if (drain === undefined) return;
  await runActivationPhase({ ...options, phase: 'drain', command: drain.command, timeoutMs: drain.timeoutMs, declaredEnv: options.spec.env });
  const grace = options.spec.drainGraceMs ?? 0;
  if (grace > 0) await (options.sleep ?? realSleep)(grace, options.signal);
}

/** Runs the spec's undrain hook (if any). Throws ActivationError (phase "undrain"). */
export async function undrainMachine(options: PhaseOptions & { spec: ActivationSpec }): Promise<void> {
  const { undrain } = options.spec;
  if (undrain === undefined) return;
  await runActivationPhase({ ...options, phase: 'undrain', command: undrain.command, timeoutMs: undrain.timeoutMs, declaredEnv: options.spec.env });
}

/**
 * Activates a generation: drain (then the drain grace), the activation command (when declared), undrain — in that order,
 * each from the generation directory with FLOTILLA_SET, FLOTILLA_DIGEST, FLOTILLA_GENERATION,
 * FLOTILLA_PREVIOUS (when known) and FLOTILLA_PHASE. Stops at the first failing phase and throws its
 * ActivationError; a failed activation is NOT followed by undrain (the machine stays out of the load
 * balancer until a rollback's activation, or the next good one, undrains it).
 */
export async function activateGeneration(options: ActivateOptions): Promise<void> {
  if (options.drain !== false) await drainMachine(options);
  if (options.spec.command !== undefined) {
    await runActivationPhase({
      ...options,
      phase: 'activate',
      command: options.spec.command,
      timeoutMs: options.spec.timeoutMs,
      declaredEnv: options.spec.env,
    });
  }
  if (options.undrain !== false) await undrainMachine(options);
}

/** A one-line summary of how a command ended ("exit 3", "timed out after 5000 ms", …). */
export function describeResult(result: CommandResult): string {
  if (result.spawnError !== undefined) return `could not start: ${result.spawnError}`;
  if (result.timedOut) return `timed out after ${Math.round(result.durationMs)} ms`;
  if (result.aborted) return 'aborted';
  if (result.signal !== null) return `killed by ${result.signal}`;
  return `exit ${String(result.exitCode)}`;
}
