// The ticks a real agent ran during a rollout, read from its debug log, as the scale simulation replays them:
// a started worker's start, and the tick's own time without the parts the simulation runs itself on its
// clock (the gate, and the fetch turn's looks with the follow waits between them: the real code's loops; and
// activation plus health, which it sleeps as activationMs), with a switch's steps after its gate apart (they
// pace the batch, so the simulation spends them after its gate); and how long a gate request took the agents,
// the round trip the simulation's own decisions then take (their time is in no tick draw). See
// docs/operations.md, "Simulation against reality".
import type { LogLine } from './procs.js';

/** One full tick of a real agent. `workerStartMs` only when it started a new worker (a warm one has no start line). */
export interface RolloutTick {
  startAtMs: number;
  workerStartMs?: number;
  /** From the worker taking the tick to "tick finished", less the simulated steps' own durations and follow waits, and less `afterGateMs`. */
  tickMs: number;
  /**
   * In a tick that passed its gate and activated: from the gate step's end to "tick finished", less activation
   * and health (the fences, the switch, the commit, the reports). It paces each batch, so the simulation spends
   * it after its gate, not before it with the rest of the tick.
   */
  afterGateMs?: number;
}

/** Steps whose time the simulation spends itself: counting them in the tick's draw would count them twice. */
export const SIMULATED_STEPS: ReadonlySet<string> = new Set(['gate', 'turn', 'activate', 'health']);

/**
 * Steps logged once per look of a follow loop (fetchTurn's followGate): the waits between the looks are the
 * loop's too, and are logged nowhere, so the simulated part is the span from the first look's start to the
 * last one's end, not the sum of the looks' `ms`. The gate's step already spans its whole follow.
 */
const FOLLOWED_STEPS: ReadonlySet<string> = new Set(['turn']);

/**
 * The full ticks of one agent log that began in [fromMs, toMs): the supervisor's "tick starting", then
 * "tick worker started" when a new worker came up for it, its step lines ("step NAME done"/"failed", with
 * `ms`), and "tick finished". A tick cut off by the log's end (no "tick finished") is left out.
 */
export function rolloutTicksOf(lines: readonly LogLine[], fromMs: number, toMs: number): RolloutTick[] {
  const out: RolloutTick[] = [];
  let open: { startAtMs: number; workerAtMs?: number; simulatedMs: number; followed: Map<string, { fromMs: number; toMs: number }>; gateEndMs?: number; activatedMs?: number } | undefined;
  for (const l of lines) {
    if (l.msg === 'tick starting') {
      open = l.time >= fromMs && l.time < toMs ? { startAtMs: l.time, simulatedMs: 0, followed: new Map() } : undefined;
    } else if (open === undefined) {
      continue;
    } else if (l.msg === 'tick worker started') {
      open.workerAtMs = l.time;
    } else if (l.step !== undefined && l.ms !== undefined && FOLLOWED_STEPS.has(l.step)) {
      const span = open.followed.get(l.step);
      open.followed.set(l.step, { fromMs: Math.min(span?.fromMs ?? Infinity, l.time - l.ms), toMs: Math.max(span?.toMs ?? -Infinity, l.time) });
    } else if (l.step !== undefined && l.ms !== undefined && SIMULATED_STEPS.has(l.step)) {
      open.simulatedMs += l.ms;
      if (l.step === 'gate') open.gateEndMs = l.time;
      else if (open.gateEndMs !== undefined) open.activatedMs = (open.activatedMs ?? 0) + l.ms;
    } else if (l.msg === 'tick finished') {
      const bodyFrom = open.workerAtMs ?? open.startAtMs;
      const followedMs = [...open.followed.values()].reduce((sum, f) => sum + (f.toMs - f.fromMs), 0);
      const afterGateMs = open.gateEndMs !== undefined && open.activatedMs !== undefined ? Math.max(0, Math.round(l.time - open.gateEndMs - open.activatedMs)) : undefined;
      out.push({
        startAtMs: open.startAtMs,
        ...(open.workerAtMs !== undefined ? { workerStartMs: open.workerAtMs - open.startAtMs } : {}),
        tickMs: Math.max(0, Math.round(l.time - bodyFrom - open.simulatedMs - followedMs - (afterGateMs ?? 0))),
        ...(afterGateMs !== undefined ? { afterGateMs } : {}),
      });
      open = undefined;
    }
  }
  return out;
}

/** The draws the simulation takes a rollout's ticks from; empty lists when no tick of that kind was seen. */
export interface RolloutSamples {
  workerStartMs: number[];
  /** Ticks that started a worker, and ticks in a warm one: the first look at a commit and the follows differ. */
  coldTickMs: number[];
  warmTickMs: number[];
  /** The switching ticks' time after their gate (RolloutTick.afterGateMs). */
  afterGateMs: number[];
  /**
   * With a commit time: when each sample's tick began, ms after the commit, in the order of its list
   * (`coldAtMs` for workerStartMs and coldTickMs). The load of a rollout is not even: its first ticks run while
   * every machine takes in the commit at once, the later ones beside machines that wait. Drawn without
   * regard to when, a later batch's switch took the commit burst's slow steps and an early one the quiet
   * ones (the simulated batch 0 ended sooner than the real one and each later batch later), so the
   * simulation draws among the samples nearest its own time since the commit (sim-agent.ts).
   */
  coldAtMs?: number[];
  warmAtMs?: number[];
  afterGateAtMs?: number[];
}

export function rolloutSamplesOf(ticks: readonly RolloutTick[], commitAtMs?: number): RolloutSamples {
  const cold = ticks.filter((t) => t.workerStartMs !== undefined);
  const warm = ticks.filter((t) => t.workerStartMs === undefined);
  const switching = ticks.filter((t) => t.afterGateMs !== undefined);
  const at = (list: readonly RolloutTick[]): number[] => list.map((t) => t.startAtMs - (commitAtMs ?? 0));
  return {
    workerStartMs: cold.map((t) => t.workerStartMs ?? 0),
    coldTickMs: cold.map((t) => t.tickMs),
    warmTickMs: warm.map((t) => t.tickMs),
    afterGateMs: switching.map((t) => t.afterGateMs ?? 0),
    ...(commitAtMs !== undefined ? { coldAtMs: at(cold), warmAtMs: at(warm), afterGateAtMs: at(switching) } : {}),
  };
}

/**
 * Per gate step begun in [fromMs, toMs): its first decision's time (from the step's start, its line's time
 * less its `ms`, to the "gate decision" line) over that decision's store requests: a request's round trip
 * as the agent saw it, its load and its own CPU included (the proxies see only the server's part).
 */
export function gateRequestMsOf(lines: readonly LogLine[], fromMs: number, toMs: number): number[] {
  const out: number[] = [];
  let decisions: LogLine[] = [];
  for (const l of lines) {
    if (l.msg === 'gate decision') decisions.push(l);
    else if (l.step === 'gate' && l.ms !== undefined) {
      const startMs = l.time - l.ms;
      const first = decisions.find((d) => d.time >= startMs);
      if (startMs >= fromMs && startMs < toMs && first?.requests !== undefined && first.requests > 0) out.push((first.time - startMs) / first.requests);
      decisions = [];
    }
  }
  return out;
}
