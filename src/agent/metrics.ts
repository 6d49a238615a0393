import { InternalError } from '../errors/index.js';

/** Label values of one series; the keys must be exactly the metric's declared label names. */
export type Labels = Readonly<Record<string, string>>;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Default histogram buckets (seconds) for step durations: 1 ms … 5 min. */
export const DEFAULT_BUCKETS: readonly number[] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];

abstract class Metric {
  protected readonly series = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly type: 'counter' | 'gauge' | 'histogram',
  ) {
    if (!METRIC_NAME.test(name)) throw new InternalError(`invalid metric name ${JSON.stringify(name)}`, { name });
    for (const l of labelNames) {
      if (!LABEL_NAME.test(l) || l.startsWith('__') || l === 'le') {
        throw new InternalError(`invalid label name ${JSON.stringify(l)} on ${name}`, { name, label: l });
      }
    }
  }

  /** The series key; throws InternalError (a bug in the caller) when the label keys do not match. */
  protected keyOf(labels: Labels): string {
    const keys = Object.keys(labels);
    if (keys.length !== this.labelNames.length || !this.labelNames.every((l) => Object.hasOwn(labels, l))) {
      throw new InternalError(`metric ${this.name} takes labels [${this.labelNames.join(', ')}], got [${keys.join(', ')}]`, {
        name: this.name,
      });
    }
    return JSON.stringify(this.labelNames.map((l) => labels[l]));
  }

  /** Drops one series (a set that is no longer ours, a digest no longer bad). */
  remove(labels: Labels = {}): void {
    this.series.delete(this.keyOf(labels));
  }

  /** Drops every series of this metric. */
  clear(): void {
    this.series.clear();
  }

  /** The metric's lines in Prometheus text exposition format 0.0.4 (HELP, TYPE, samples). */
  render(): string[] {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
    for (const { labels, value } of this.series.values()) lines.push(`${this.name}${formatLabels(labels)} ${formatValue(value)}`);
    return lines;
  }
}

/** A monotonically increasing count. */
export class Counter extends Metric {
  /** Adds `by` (default 1, must be ≥ 0) to the series. */
  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) throw new InternalError(`counter ${this.name} cannot decrease`, { name: this.name, by });
    const key = this.keyOf(labels);
    const entry = this.series.get(key);
    if (entry === undefined) this.series.set(key, { labels: { ...labels }, value: by });
    else entry.value += by;
  }
}

/** A value that goes up and down. */
export class Gauge extends Metric {
  /** Sets the series to `value`. */
  set(labels: Labels, value: number): void {
    this.series.set(this.keyOf(labels), { labels: { ...labels }, value });
  }
}

/** Observations counted into cumulative buckets, with their sum and count. */
export class Histogram extends Metric {
  private readonly data = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();

  constructor(name: string, help: string, labelNames: readonly string[], readonly buckets: readonly number[]) {
    super(name, help, labelNames, 'histogram');
    if (buckets.length === 0 || buckets.some((b, i) => i > 0 && b <= buckets[i - 1]!)) {
      throw new InternalError(`histogram ${name} needs increasing buckets`, { name });
    }
  }

  /** Records one observation (e.g. a step's duration in seconds). */
  observe(labels: Labels, value: number): void {
    const key = this.keyOf(labels);
    let entry = this.data.get(key);
    if (entry === undefined) {
      entry = { labels: { ...labels }, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.data.set(key, entry);
    }
    this.buckets.forEach((b, i) => {
      if (value <= b) entry.counts[i]! += 1;
    });
    entry.sum += value;
    entry.count += 1;
  }

  override remove(labels: Labels = {}): void {
    this.data.delete(this.keyOf(labels));
  }

  override clear(): void {
    this.data.clear();
  }

  override render(): string[] {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} histogram`];
    for (const { labels, counts, sum, count } of this.data.values()) {
      this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket${formatLabels({ ...labels, le: formatValue(b) })} ${counts[i]}`));
      lines.push(`${this.name}_bucket${formatLabels({ ...labels, le: '+Inf' })} ${count}`);
      lines.push(`${this.name}_sum${formatLabels(labels)} ${formatValue(sum)}`);
      lines.push(`${this.name}_count${formatLabels(labels)} ${count}`);
    }
    return lines;
  }
}

/**
 * A tiny metrics registry: create counters, gauges and histograms once, update them anywhere, render them
 * all as Prometheus text. Registering a name twice throws InternalError.
 */
export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames, 'counter'));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.add(new Gauge(name, help, labelNames, 'gauge'));
  }

  histogram(name: string, help: string, labelNames: readonly string[] = [], buckets: readonly number[] = DEFAULT_BUCKETS): Histogram {
    return this.add(new Histogram(name, help, labelNames, buckets));
  }

  /** Every metric in registration order, in text exposition format, ending with a newline. */
  render(): string {
    const lines: string[] = [];
    for (const m of this.metrics.values()) lines.push(...m.render());
    return `${lines.join('\n')}\n`;
  }

  private add<M extends Metric>(metric: M): M {
    if (this.metrics.has(metric.name)) throw new InternalError(`metric ${metric.name} registered twice`, { name: metric.name });
    this.metrics.set(metric.name, metric);
    return metric;
  }
}

/** The content type Prometheus expects for the text format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}
