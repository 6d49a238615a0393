import { activateGeneration, drainMachine, undrainMachine } from '../activation/activate.js';
import { checkHealth } from '../activation/health.js';
import type { CommandRunner } from '../activation/run-command.js';
import type { ActivationSpec, FlotillaEnv, HealthSpec } from '../activation/spec.js';
import type { Generation } from '../generations/index.js';

/** The activation and health check of one generation, and the ports to run them. */
export interface ActivationPlan {
  set: string;
  activation?: ActivationSpec;
  health?: HealthSpec;
  runner: CommandRunner;
}

function envFor(set: string, gen: Generation, previous: Generation | undefined): FlotillaEnv {
  return {
    FLOTILLA_SET: set,
    FLOTILLA_DIGEST: gen.digest,
    FLOTILLA_GENERATION: gen.path,
    ...(previous ? { FLOTILLA_PREVIOUS: previous.path } : {}),
  };
}

/** A generation's activation commands: drain, activate, health, undrain. */
export interface ActivationRunner {
  drain(gen: Generation): Promise<void>;
  activate(gen: Generation, previous: Generation | undefined): Promise<void>;
  health(gen: Generation, previous: Generation | undefined): Promise<void>;
  undrain(gen: Generation): Promise<void>;
}

/**
 * Binds an activation plan to its runner. No activation: the switch alone activates; no health check:
 * activation success is enough. Errors are ActivationError / HealthCheckError from src/activation.
 * No abort signal on purpose: SIGTERM lets a switch, activation and health check run to the end (each is
 * bounded by its own timeout), so stopping the agent never leaves a half-activated machine.
 */
export function activationRunner(plan: ActivationPlan): ActivationRunner {
  const { runner, activation: spec, health, set } = plan;
  return {
    async drain(gen) {
      if (spec?.drain) await drainMachine({ runner, spec, generationPath: gen.path, env: envFor(set, gen, undefined) });
    },
    async activate(gen, previous) {
      if (spec) await activateGeneration({ runner, spec, generationPath: gen.path, env: envFor(set, gen, previous), drain: false, undrain: false });
    },
    async health(gen, previous) {
      if (health) await checkHealth({ runner, spec: health, generationPath: gen.path, env: envFor(set, gen, previous) });
    },
    async undrain(gen) {
      if (spec?.undrain) await undrainMachine({ runner, spec, generationPath: gen.path, env: envFor(set, gen, undefined) });
    },
  };
}

/** The runner for going back to `gen`: its own recorded activation and health check (origin.json). */
export function recordedRunner(set: string, gen: Generation, runner: CommandRunner): ActivationRunner {
  return activationRunner({ set, runner, ...(gen.origin.activation ? { activation: gen.origin.activation } : {}), ...(gen.origin.health ? { health: gen.origin.health } : {}) });
}
