import type { ActivateSpec as DeclaredActivate, HealthSpec as DeclaredHealth } from '../declarations/types.js';
import type { ActivationSpec, HealthSpec } from './spec.js';

/**
 * Turns a set's normalised `activate:` block into an ActivationSpec. The declaration has one timeout;
 * it bounds the drain and undrain hooks too. Never throws (declarations are validated where they enter).
 */
export function toActivationSpec(declared: DeclaredActivate): ActivationSpec {
  const spec: ActivationSpec = { env: declared.env, timeoutMs: declared.timeoutMs, drainGraceMs: declared.drainGraceMs };
  if (declared.command !== undefined) spec.command = declared.command;
  if (declared.drain !== undefined) spec.drain = { command: declared.drain, timeoutMs: declared.timeoutMs };
  if (declared.undrain !== undefined) spec.undrain = { command: declared.undrain, timeoutMs: declared.timeoutMs };
  return spec;
}

/** A set's normalised `health:` block already has the HealthSpec shape; this only states so to the compiler. */
export function toHealthSpec(declared: DeclaredHealth): HealthSpec {
  return declared;
}
