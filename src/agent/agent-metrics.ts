import { MetricsRegistry, type Counter, type Gauge, type Histogram } from './metrics.js';

/** How a tick ended, as reported in metrics (mirrors the `--once` exit classes). */
export type TickResult = 'converged' | 'noop' | 'failed' | 'rolled_back' | 'waiting';

/** The agent's metrics, with typed setters so call sites cannot misspell a label. */
export interface AgentMetrics {
  readonly registry: MetricsRegistry;
  /** A tick finished: its start/end (ms since the epoch) and result. */
  recordTick(tick: { startedAtMs: number; finishedAtMs: number; result: TickResult }): void;
  /** The set now runs generation `number` holding `digest` (replaces the set's previous digest series). */
  setCurrentGeneration(set: string, number: number, digest: string): void;
  /** The set's complete list of digests marked bad (replaces the previous list). */
  setBadDigests(set: string, digests: readonly string[]): void;
  /** Bytes downloaded from the store (objects and manifests), per store URL's scheme or name. */
  addFetchedBytes(bytes: number, store?: string): void;
  /** One step of a tick took `seconds` (`sync`, `verify`, `declarations`, `fetch`, `stage`, `switch`, …). */
  observeStep(step: string, seconds: number): void;
  /** A poll found the branch head unchanged and no tick was run (the daemon's cheap poll). */
  countSkippedPoll(): void;
  /** A poll read the head pointer or asked git for the branch head, and what it found. */
  countHeadRead(source: 'pointer' | 'git', result: HeadReadResult): void;
}

/** What one head read found: `not_modified` is a pointer's 304. */
export type HeadReadResult = 'not_modified' | 'unchanged' | 'moved' | 'failed';

/** Registers flotilla_* metrics on a new (or the given) registry. */
export function createAgentMetrics(registry = new MetricsRegistry()): AgentMetrics {
  const lastTick = registry.gauge('flotilla_last_tick_timestamp_seconds', 'When the last tick finished (Unix time).');
  const lastTickDuration = registry.gauge('flotilla_last_tick_duration_seconds', 'How long the last tick took.');
  const lastTickResult = registry.gauge('flotilla_last_tick_result', 'Result of the last tick: 1 on the series of that result, 0 on the others.', ['result']);
  const ticks: Counter = registry.counter('flotilla_ticks_total', 'Ticks run, by result.', ['result']);
  const generation: Gauge = registry.gauge('flotilla_current_generation', 'Number of the generation current for the set.', ['set']);
  const digestInfo: Gauge = registry.gauge('flotilla_current_digest_info', 'Always 1; the digest label is the closure current for the set.', ['set', 'digest']);
  const badCount: Gauge = registry.gauge('flotilla_bad_digests', 'Digests marked bad for the set (not retried until the desired digest changes).', ['set']);
  const badInfo: Gauge = registry.gauge('flotilla_bad_digest_info', 'Always 1; one series per digest marked bad for the set.', ['set', 'digest']);
  const fetched: Counter = registry.counter('flotilla_fetched_bytes_total', 'Bytes downloaded from the store.', ['store']);
  const steps: Histogram = registry.histogram('flotilla_step_duration_seconds', 'Duration of tick steps.', ['step']);
  const skippedPolls: Counter = registry.counter('flotilla_polls_skipped_total', 'Polls answered without a tick: the branch head had not moved since the last settled tick.');
  const headReads: Counter = registry.counter('flotilla_head_reads_total', 'Reads of the branch head by polls: the head pointer in the store, or git; by result.', ['source', 'result']);
  const results: TickResult[] = ['converged', 'noop', 'failed', 'rolled_back', 'waiting'];
  const currentDigest = new Map<string, string>();
  const badDigests = new Map<string, readonly string[]>();

  return {
    registry,
    recordTick({ startedAtMs, finishedAtMs, result }) {
      lastTick.set({}, finishedAtMs / 1000);
      lastTickDuration.set({}, Math.max(0, finishedAtMs - startedAtMs) / 1000);
      for (const r of results) lastTickResult.set({ result: r }, r === result ? 1 : 0);
      ticks.inc({ result });
    },
    setCurrentGeneration(set, number, digest) {
      generation.set({ set }, number);
      const previous = currentDigest.get(set);
      if (previous !== undefined && previous !== digest) digestInfo.remove({ set, digest: previous });
      digestInfo.set({ set, digest }, 1);
      currentDigest.set(set, digest);
    },
    setBadDigests(set, digests) {
      for (const d of badDigests.get(set) ?? []) badInfo.remove({ set, digest: d });
      for (const d of digests) badInfo.set({ set, digest: d }, 1);
      badCount.set({ set }, digests.length);
      badDigests.set(set, [...digests]);
    },
    addFetchedBytes(bytes, store = 'default') {
      fetched.inc({ store }, bytes);
    },
    observeStep(step, seconds) {
      steps.observe({ step }, seconds);
    },
    countHeadRead(source, result) {
      headReads.inc({ source, result });
    },
    countSkippedPoll() {
      skippedPolls.inc();
    },
  };
}
