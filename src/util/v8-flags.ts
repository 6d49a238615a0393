import { setFlagsFromString } from 'node:v8';

// Every flag set through setV8Flags, in order: a worker thread's start undoes them (see reapplyV8Flags).
// Kept on globalThis: a process may hold two bundles that each have a copy of this module (the tick
// worker's entry sets the flags, the body it loads starts the threads), and both must see one record.
const SLOT = Symbol.for('flotilla.v8Flags');
const applied: string[] = ((globalThis as { [SLOT]?: string[] })[SLOT] ??= []);

/** Sets V8 flags at run time (each `--name=value`) and remembers them for reapplyV8Flags. */
export function setV8Flags(...flags: string[]): void {
  for (const f of flags) {
    setFlagsFromString(f);
    if (!applied.includes(f)) applied.push(f);
  }
}

/** The flags setV8Flags set, in order, for a worker thread to set again first thing (see reapplyV8Flags). */
export function appliedV8Flags(): readonly string[] {
  return [...applied];
}

/**
 * Sets again every flag setV8Flags set. Why: making a worker thread's isolate can undo them (V8 clamps
 * `--semi-space-growth-factor` to at least 2 in every new isolate, so after `new Worker` the main thread's
 * young generation grew to 16 MiB semi-spaces again), so whoever starts one calls this once it is online,
 * and the worker sets appliedV8Flags() itself as it starts. A no-op when no flag was set.
 */
export function reapplyV8Flags(): void {
  for (const f of applied) setFlagsFromString(f);
}
