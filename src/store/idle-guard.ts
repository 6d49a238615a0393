import { Transform } from 'node:stream';
import { TimeoutError } from '../errors/index.js';

/**
 * A pass-through that fails with TimeoutError naming `what` when no chunk passes for `ms`: object bodies
 * get this stall deadline instead of a total one, so a slow but moving download is never cut short while a
 * stalled one ends. `onIdle` runs first (destroy the source there to close its socket).
 */
export function idleGuard(ms: number, what: string, onIdle: () => void): Transform {
  let timer: NodeJS.Timeout | undefined;
  const t = new Transform({
    transform(chunk, _e, done) {
      arm();
      done(null, chunk);
    },
    flush(done) {
      clearTimeout(timer);
      done();
    },
  });
  function arm(): void {
    clearTimeout(timer);
    timer = setTimeout(() => {
      onIdle();
      t.destroy(new TimeoutError(`${what}: no data for ${ms} ms`, { what }));
    }, ms);
  }
  t.on('close', () => clearTimeout(timer));
  arm();
  return t;
}
