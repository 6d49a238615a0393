/**
 * Runs `fn` with direct writes on (FLOTILLA_DIRECT_WRITES=1) or off (=0; unset, the default, has the process
 * measure its page cache and choose), then puts the variable back as it was (src/util/direct-writes.ts
 * reads it at each use).
 */
export async function withDirectWrites<T>(on: boolean, fn: () => Promise<T>): Promise<T> {
  const before = process.env['FLOTILLA_DIRECT_WRITES'];
  process.env['FLOTILLA_DIRECT_WRITES'] = on ? '1' : '0';
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env['FLOTILLA_DIRECT_WRITES'];
    else process.env['FLOTILLA_DIRECT_WRITES'] = before;
  }
}
