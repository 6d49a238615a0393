import { readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

// Node compiles a CommonJS file from source on every start: for the CLI's bundle (~1 MB) that was ~40 ms of
// CPU on this machine, more than anything else a no-op fetch does (docs/performance.md). V8 can instead
// start from a code cache made once at build time. V8 checks the cache against its own version, its flags
// and the source's length, and rejects it otherwise (the file is then compiled as usual); a bundle edited
// in place to the same length would slip through, so a cache is used only when its mtime equals the
// bundle's, which the build sets (npm's tarballs keep both equal; any edit changes the bundle's).

type ModuleWrapper = (exports: unknown, require: NodeJS.Require, module: { exports: unknown }, filename: string, dirname: string) => void;

function compile(file: string, cachedData?: Buffer): Script {
  return new Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file, ...(cachedData ? { cachedData } : {}) });
}

function run(script: Script, file: string): unknown {
  const mod = { exports: {} as unknown };
  (script.runInThisContext() as ModuleWrapper).call(mod.exports, mod.exports, createRequire(file), mod, file, dirname(file));
  return mod.exports;
}

/** The cache made for `file` by makeCodeCache, or undefined when there is none or it is not `file`'s. */
function cacheOf(file: string, cacheFile: string): Buffer | undefined {
  try {
    if (statSync(cacheFile).mtimeMs !== statSync(file).mtimeMs) return undefined;
    return readFileSync(cacheFile);
  } catch {
    return undefined;
  }
}

/**
 * Loads the CommonJS file `file` as `require` would (its own `require`, `module`, `__filename`,
 * `__dirname`), compiled from V8's code cache `cacheFile` when makeCodeCache made it for this very file
 * and V8 accepts it, else from source. `cached` says which. Throws what loading the file throws.
 */
export function requireWithCodeCache(file: string, cacheFile: string): { exports: unknown; cached: boolean } {
  const compiled = compileWithCodeCache(file, cacheFile);
  return { exports: compiled.run(), cached: compiled.cached };
}

/**
 * requireWithCodeCache in two steps: compiles `file` now (from `cacheFile` as above), and runs it when
 * `run` is called. Why: V8 checks a cache against the flags of the moment it compiles, so a process that
 * sets V8 flags before its code runs (the tick worker: agent/worker-v8-flags.ts) compiles first.
 */
export function compileWithCodeCache(file: string, cacheFile: string): { run: () => unknown; cached: boolean } {
  const cachedData = cacheOf(file, cacheFile);
  const script = compile(file, cachedData);
  return { run: () => run(script, file), cached: cachedData !== undefined && !script.cachedDataRejected };
}

/**
 * Build time: loads `file` (its top-level code runs, so the functions it calls are compiled too), writes
 * V8's code cache of it to `cacheFile` and gives both the same mtime. Must run under the Node and V8 flags
 * the file will be started with, or V8 rejects the cache then.
 */
export function makeCodeCache(file: string, cacheFile: string): void {
  const script = compile(file);
  run(script, file);
  writeFileSync(cacheFile, script.createCachedData());
  // Set on both: a file's own mtime has nanoseconds that a Date cannot carry over to the other.
  const { atime, mtime } = statSync(file);
  utimesSync(file, atime, mtime);
  utimesSync(cacheFile, atime, mtime);
}

/**
 * As makeCodeCache, after `exercise` has run with the file's exports: V8's cache then also holds every
 * function that run compiled, which a start otherwise compiles from source when it first calls it (the
 * build runs a real no-op fetch with the fetch bundle: scripts/warm-fetch-cache.mjs). Throws what loading
 * the file or `exercise` throws; no cache is written then.
 */
export async function makeExercisedCodeCache(file: string, cacheFile: string, exercise: (exports: unknown) => Promise<void>): Promise<void> {
  const script = compile(file);
  await exercise(run(script, file));
  writeFileSync(cacheFile, script.createCachedData());
  const { atime, mtime } = statSync(file);
  utimesSync(file, atime, mtime);
  utimesSync(cacheFile, atime, mtime);
}
