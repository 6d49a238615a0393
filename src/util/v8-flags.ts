import { setFlagsFromString } from 'node:v8';

// Every flag set through setV8Flags, in order: a worker thread's start undoes them (see reapplyV8Flags).
const applied: string[] = [];

/** Sets V8 flags at run time (each `--name=value`) and remembers them for reapplyV8Flags. */
export function setV8Flags(...flags: string[]): void {
  for (const f of flags) {
    setFlagsFromString(f);
    if (!applied.includes(f)) applied.push(f);
  }
}

/**
 * Sets again every flag setV8Flags set. Why: starting a worker thread puts V8's flags back to what the
 * process started with (measured on Node 20: after `new Worker`, `--semi-space-growth-factor=1` no longer
 * holds and the main thread's young generation grows to 16 MiB semi-spaces), so whoever starts one calls
 * this once it is online. A no-op when no flag was set.
 */
export function reapplyV8Flags(): void {
  for (const f of applied) setFlagsFromString(f);
}
