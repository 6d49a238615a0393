/** Runs `fn` with FLOTILLA_DIRECT_WRITES set to `value` (unset for undefined), then puts it back as it was. */
async function withSetting<T>(value: string | undefined, fn: () => Promise<T>): Promise<T> {
  const before = process.env['FLOTILLA_DIRECT_WRITES'];
  if (value === undefined) delete process.env['FLOTILLA_DIRECT_WRITES'];
  else process.env['FLOTILLA_DIRECT_WRITES'] = value;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env['FLOTILLA_DIRECT_WRITES'];
    else process.env['FLOTILLA_DIRECT_WRITES'] = before;
  }
}

/**
 * Runs `fn` with direct writes on (FLOTILLA_DIRECT_WRITES=1) or off (=0; unset, the default, has the process
 * measure its page cache and choose), then puts the variable back as it was (src/util/direct-writes.ts
 * reads it at each use).
 */
export function withDirectWrites<T>(on: boolean, fn: () => Promise<T>): Promise<T> {
  return withSetting(on ? '1' : '0', fn);
}

/**
 * Runs `fn` with direct writes 'auto', the default (the variable unset: the process's judge of its page
 * cache chooses), which the test run otherwise sets off (vitest.config.ts); then puts the variable back.
 */
export function withDirectWritesAuto<T>(fn: () => Promise<T>): Promise<T> {
  return withSetting(undefined, fn);
}
