/**
 * Runs `fn` with direct writes on (FLOTILLA_DIRECT_WRITES=1) or off (unset, the default), then puts the
 * variable back as it was (src/util/direct-writes.ts reads it at each use).
 */
export async function withDirectWrites<T>(on: boolean, fn: () => Promise<T>): Promise<T> {
  const before = process.env['FLOTILLA_DIRECT_WRITES'];
  if (on) process.env['FLOTILLA_DIRECT_WRITES'] = '1';
  else delete process.env['FLOTILLA_DIRECT_WRITES'];
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env['FLOTILLA_DIRECT_WRITES'];
    else process.env['FLOTILLA_DIRECT_WRITES'] = before;
  }
}
