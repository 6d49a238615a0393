/*
 * The activation contract (what a set's `activate:`, drain/undrain and `health.command` may rely on):
 * - cwd is the generation directory (FLOTILLA_GENERATION, absolute). An argv[0] with a `/` that is not
 *   absolute resolves inside it (`./bin/activate` → `<generation>/bin/activate`) and may not leave it;
 *   a bare name is looked up in PATH; a string command runs via `/bin/sh -c` in that cwd.
 * - env: a small base (PATH, HOME, locale, TZ, USER, TMPDIR; never the agent's credentials), then the
 *   declared `env`, then FLOTILLA_SET, FLOTILLA_DIGEST, FLOTILLA_GENERATION, FLOTILLA_PREVIOUS (absent
 *   on a first deployment) and FLOTILLA_PHASE (drain | activate | undrain | health), which always win.
 * - success is exit 0 before the timeout. On timeout the whole process group gets SIGTERM, then SIGKILL
 *   after a grace. Only the last 64 KiB of stdout/stderr are kept (in the error and the logs).
 * - a command may leave a service running in the background: it is not killed when the command exits 0,
 *   and its inherited stdout/stderr keep being drained (output discarded), so it never gets SIGPIPE.
 *   Better: start services through the init system (systemctl restart, systemd-run) and redirect
 *   output; a process left in the agent's cgroup dies with the agent under systemd's default KillMode.
 * - the command must be idempotent: after a crash the agent re-runs activation of the same generation,
 *   and a rollback re-runs the previous generation's activation.
 */
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
  /**
   * Consecutive passing attempts needed (default 1). Above 1, a crash-looping service that answers now
   * and then does not pass; a failure in between resets the count. Extension over the set schema.
   */
  successThreshold?: number;
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
