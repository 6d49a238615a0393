// idle-ticks.ts reads the idle heartbeat ticks the scale simulation draws from; a biased reading makes the
// simulated machines tick sooner or later than the agents and the idle request figures drift (issue 15).
import { describe, expect, it } from 'vitest';
import { idleTicksOf } from '../../bench/lib/idle-ticks.js';
import type { LogLine } from '../../bench/lib/procs.js';

const line = (time: number, msg: string): LogLine => ({ time, msg });
const heartbeat = (at: number, workerAt: number | undefined, endAt: number): LogLine[] => [
  line(at, 'poll: heartbeat due, ticking on the known commit without asking git or the head pointer'),
  line(at, 'tick starting'),
  ...(workerAt === undefined ? [] : [line(workerAt, 'tick worker started')]),
  line(endAt, 'tick finished'),
];

describe('idleTicksOf', () => {
  it('keeps a tick begun in the window to its end, after the window closes', () => {
    const lines = [...heartbeat(1_000, 1_500, 2_000), ...heartbeat(8_000, 9_000, 14_000)];
    expect(idleTicksOf(lines, 0, 10_000)).toEqual([{ startMs: 500, tickMs: 500 }, { startMs: 1_000, tickMs: 5_000 }]);
  });

  it('leaves out ticks begun before or after the window', () => {
    const lines = [...heartbeat(1_000, 1_500, 4_000), ...heartbeat(5_000, 5_100, 5_200), ...heartbeat(11_000, 11_500, 12_000)];
    expect(idleTicksOf(lines, 2_000, 10_000)).toEqual([{ startMs: 100, tickMs: 100 }]);
  });

  it('leaves out a warm tick, and does not pair the next worker start with its poll', () => {
    const lines = [...heartbeat(1_000, undefined, 1_200), line(3_000, 'tick starting'), line(3_500, 'tick worker started'), line(4_000, 'tick finished'), ...heartbeat(5_000, 5_300, 6_000)];
    expect(idleTicksOf(lines, 0, 10_000)).toEqual([{ startMs: 300, tickMs: 700 }]);
  });
});
