/**
 * A test-only port: code that changes disk calls `crash.hit('switch:after-pending')` at each step, and a
 * crash test plugs in a CrashPoints that kills the process there. Production code uses NO_CRASH_POINTS.
 * The environment is read once, at the edge (the test child), never inside the core.
 */
export interface CrashPoints {
  hit(point: CrashPoint): void;
}

/** Every point at which stage, switch, commit and rollback may be killed in a test. */
export const CRASH_POINTS = [
  'stage:after-reserve',
  'stage:after-links',
  'stage:after-origin',
  'stage:before-rename',
  'stage:after-rename',
  'switch:after-pending',
  'switch:after-temp-link',
  'switch:after-rename',
  'switch:after-fsync',
  'phase:after-write',
  'commit:before-write',
  'commit:after-write',
  'rollback:after-mark',
  'rollback:after-temp-link',
  'rollback:after-rename',
  'rollback:after-write',
] as const;

/** One named crash point. */
export type CrashPoint = (typeof CRASH_POINTS)[number];

/** The production port: never crashes. */
export const NO_CRASH_POINTS: CrashPoints = { hit: () => undefined };

/**
 * Builds a CrashPoints from a spec such as `switch:after-pending` or `stage:after-links@2` (the 2nd hit):
 * `kill` is called when that point is reached. An empty or undefined spec never crashes.
 * Throws RangeError for an unknown point name, so a typo in a test cannot silently test nothing.
 */
export function crashPointsFromSpec(spec: string | undefined, kill: () => void): CrashPoints {
  if (spec === undefined || spec === '') return NO_CRASH_POINTS;
  const [point, countText] = spec.split('@');
  if (!CRASH_POINTS.includes(point as CrashPoint)) throw new RangeError(`unknown crash point ${JSON.stringify(point)}`);
  const count = countText === undefined ? 1 : Number(countText);
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`bad crash point count in ${JSON.stringify(spec)}`);
  let seen = 0;
  return {
    hit(p: CrashPoint): void {
      if (p === point && ++seen === count) kill();
    },
  };
}
