/**
 * A command as declared in a set: an argv array (no shell) or a string run by `/bin/sh -c`.
 * Path rule (see resolveCommand): an argv[0] containing a `/` that is not absolute resolves against the
 * generation directory and must stay inside it; a bare name is looked up in PATH; an absolute path is used
 * as is. A shell string runs with the generation directory as its working directory, so `./bin/x` works.
 */
export type CommandLine = readonly string[] | string;

/** A drain or undrain hook: told the load balancer to stop (or resume) sending work to this machine. */
export interface HookSpec {
  command: CommandLine;
  timeoutMs: number;
}

/** How a set's generation is activated (the `activate:` block of sets/NAME.yaml, normalised). */
export interface ActivationSpec {
  /** Absent: switching the link is the whole activation (drain/undrain still run when declared). */
  command?: CommandLine;
  /** Extra environment for every phase; FLOTILLA_* variables set by the agent win over these. */
  env?: Record<string, string>;
  timeoutMs: number;
  drain?: HookSpec;
  undrain?: HookSpec;
  /** Wait after a successful drain, so in-flight work finishes before the switch. Default 0. */
  drainGraceMs?: number;
}

/** An HTTP(S) GET health check. */
export interface HttpCheckSpec {
  url: string;
  /** Default 200. */
  expectStatus?: number;
  /** A JavaScript regular expression the body must match (first 1 MiB of the body is read). */
  bodyMatch?: string;
}

/** How a set's health is checked after activation (the `health:` block, normalised). */
export interface HealthSpec {
  command?: CommandLine;
  http?: HttpCheckSpec;
  /** Wait before the first attempt (service start-up grace). */
  initialDelayMs: number;
  /** Wait between a failed attempt and the next. */
  intervalMs: number;
  /** Attempts after the first one: at most `retries + 1` attempts are made. */
  retries: number;
  /** Bound on each check of one attempt (the command is killed, the request aborted). */
  timeoutMs: number;
}

/** The variables every activation, drain, undrain and health command receives. */
export interface FlotillaEnv {
  FLOTILLA_SET: string;
  FLOTILLA_DIGEST: string;
  /** Absolute path of the generation directory being activated (also the working directory). */
  FLOTILLA_GENERATION: string;
  /** Absolute path of the previously active generation; absent on the first deployment. */
  FLOTILLA_PREVIOUS?: string;
}
