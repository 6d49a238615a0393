// The idle ticks a real agent ran (bench scale-real), read from its debug log, which the scale simulation
// draws its idle ticks from: a heartbeat tick's worker start and its own time.
import type { LogLine } from './procs.js';

/** One idle tick of a real agent: from the poll that asked for it to its worker's start, then to its end. */
export interface IdleTick {
  startMs: number;
  tickMs: number;
}

/**
 * The idle ticks in one agent's log whose poll came between `fromMs` and `toMs`: a poll line ("poll: …", the
 * supervisor's answer), then "tick worker started" (a worker started for it), then "tick finished", which
 * may come after `toMs`. A tick in a worker that was still warm has no start line and is left out (idle ticks
 * are a heartbeat apart, past keepWarm).
 */
export function idleTicksOf(lines: readonly LogLine[], fromMs: number, toMs: number): IdleTick[] {
  const out: IdleTick[] = [];
  let poll: number | undefined;
  let started: number | undefined;
  for (const l of lines) {
    if (l.time < fromMs) continue;
    // A tick that began in the window is kept to its end: cut at `toMs`, the ticks running then (the long
    // ones: a tick of 48 s is running at a random moment twice as often as one of 24 s) would be left out,
    // and the simulation, drawing from the rest, ticked too soon again (more heartbeats and head checks).
    if (l.time >= toMs && poll === undefined) break;
    if (l.msg.startsWith('poll: heartbeat due')) {
      if (l.time >= toMs) break;
      poll = l.time;
      started = undefined;
    } else if (l.msg === 'tick worker started' && poll !== undefined) {
      started = l.time;
    } else if (l.msg === 'tick finished' && poll !== undefined) {
      if (started !== undefined) out.push({ startMs: started - poll, tickMs: l.time - started });
      poll = undefined;
      started = undefined;
    }
  }
  return out;
}
