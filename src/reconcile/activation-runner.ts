import { activateGeneration, drainMachine, undrainMachine } from '../activation/activate.js';
import { checkHealth } from '../activation/health.js';
import type { FlotillaEnv } from '../activation/spec.js';
import type { Generation } from '../generations/index.js';
import type { SetContext } from './context.js';
import { activationSpecOf, healthSpecOf } from './specs.js';

function envFor(ctx: SetContext, gen: Generation, previous: Generation | undefined): FlotillaEnv {
  return {
    FLOTILLA_SET: ctx.set.name,
    FLOTILLA_DIGEST: gen.digest,
    FLOTILLA_GENERATION: gen.path,
    ...(previous ? { FLOTILLA_PREVIOUS: previous.path } : {}),
  };
}

/** The set's activation commands bound to one tick: drain, activate, health, undrain. */
export interface ActivationRunner {
  drain(gen: Generation): Promise<void>;
  activate(gen: Generation, previous: Generation | undefined): Promise<void>;
  health(gen: Generation, previous: Generation | undefined): Promise<void>;
  undrain(gen: Generation): Promise<void>;
}

/**
 * Binds the set's declared activation and health to the tick's command runner. A set without an
 * activation command is activated by the switch alone; a set without a health check is healthy when
 * activation succeeded. Errors are ActivationError / HealthCheckError from src/activation.
 */
export function activationRunner(ctx: SetContext): ActivationRunner {
  const spec = activationSpecOf(ctx.set);
  const health = healthSpecOf(ctx.set);
  // No abort signal here on purpose: SIGTERM lets a switch, activation and health check run to the end
  // (each is bounded by its own timeout), so stopping the agent never leaves a half-activated machine.
  const { runner } = ctx.ports;
  return {
    async drain(gen) {
      if (spec?.drain) await drainMachine({ runner, spec, generationPath: gen.path, env: envFor(ctx, gen, undefined) });
    },
    async activate(gen, previous) {
      if (spec) await activateGeneration({ runner, spec, generationPath: gen.path, env: envFor(ctx, gen, previous), drain: false, undrain: false });
    },
    async health(gen, previous) {
      if (health) await checkHealth({ runner, spec: health, generationPath: gen.path, env: envFor(ctx, gen, previous) });
    },
    async undrain(gen) {
      if (spec?.undrain) await undrainMachine({ runner, spec, generationPath: gen.path, env: envFor(ctx, gen, undefined) });
    },
  };
}
