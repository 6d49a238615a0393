/** What tickFailure reads of a tick: a full report (`agent --once`) or the daemon's summary (`agent reconcile`). */
interface TickLike {
  exitCode: 0 | 1 | 3;
  error?: { code: string; message: string };
}

/**
 * The --json envelope's error for a tick that failed (exit 1): the tick's own error (a FlotillaError code),
 * else the reason of the first set that failed or rolled back, as status.json and `flotilla status` show it.
 */
export function tickFailure(tick: TickLike, sets: ReadonlyArray<{ set: string; result: string; reason: string; message: string }>): { code: string; message: string } | undefined {
  if (tick.exitCode !== 1) return undefined;
  if (tick.error) return { code: tick.error.code, message: tick.error.message };
  const failed = sets.find((o) => o.result === 'failed' || o.result === 'rolled-back');
  return failed === undefined ? undefined : { code: failed.reason, message: `${failed.set}: ${failed.message}` };
}
