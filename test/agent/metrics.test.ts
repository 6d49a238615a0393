import { describe, expect, it } from 'vitest';
import { createAgentMetrics } from '../../src/agent/agent-metrics.js';
import { reportHealthz } from '../../src/agent/healthz.js';
import { MetricsRegistry } from '../../src/agent/metrics.js';
import type { SingleFlightState } from '../../src/agent/single-flight.js';
import { InternalError } from '../../src/errors/index.js';

describe('metrics registry', () => {
  it('renders counters and gauges with escaped labels and help', () => {
    const r = new MetricsRegistry();
    const c = r.counter('x_total', 'A "count"\nwith a newline \\ and slash.', ['k']);
    c.inc({ k: 'a"b\\c\nd' }, 2);
    c.inc({ k: 'a"b\\c\nd' });
    r.gauge('g', 'gauge').set({}, Infinity);
    expect(r.render()).toBe(
      [
        '# HELP x_total A "count"\\nwith a newline \\\\ and slash.',
        '# TYPE x_total counter',
        'x_total{k="a\\"b\\\\c\\nd"} 3',
        '# HELP g gauge',
        '# TYPE g gauge',
        'g +Inf',
        '',
      ].join('\n'),
    );
  });

  it('histogram buckets are cumulative and end with +Inf, _sum and _count', () => {
    const r = new MetricsRegistry();
    const h = r.histogram('d_seconds', 'd', ['step'], [0.1, 1]);
    for (const v of [0.05, 0.5, 2]) h.observe({ step: 's' }, v);
    expect(r.render()).toContain(
      ['d_seconds_bucket{step="s",le="0.1"} 1', 'd_seconds_bucket{step="s",le="1"} 2', 'd_seconds_bucket{step="s",le="+Inf"} 3', 'd_seconds_sum{step="s"} 2.55', 'd_seconds_count{step="s"} 3'].join('\n'),
    );
  });

  it('refuses wrong labels, bad names, duplicate registration and a decreasing counter', () => {
    const r = new MetricsRegistry();
    const g = r.gauge('g', 'g', ['set']);
    expect(() => g.set({ sett: 'x' }, 1)).toThrow(InternalError);
    expect(() => g.set({ set: 'x', extra: 'y' }, 1)).toThrow(InternalError);
    expect(() => r.gauge('g', 'again')).toThrow(/registered twice/);
    expect(() => r.gauge('1bad', 'x')).toThrow(/invalid metric name/);
    expect(() => r.gauge('ok', 'x', ['le'])).toThrow(/invalid label name/);
    expect(() => r.counter('c', 'c').inc({}, -1)).toThrow(/cannot decrease/);
  });

  it('agent metrics replace a set\'s digest and bad-digest series instead of piling them up', () => {
    const m = createAgentMetrics();
    m.setCurrentGeneration('web', 1, 'sha256:aa');
    m.setCurrentGeneration('web', 2, 'sha256:bb');
    m.setBadDigests('web', ['sha256:x1', 'sha256:x2']);
    m.setBadDigests('web', ['sha256:x2']);
    const text = m.registry.render();
    expect(text).not.toContain('digest="sha256:aa"');
    expect(text).toContain('flotilla_current_digest_info{set="web",digest="sha256:bb"} 1');
    expect(text).not.toContain('sha256:x1');
    expect(text).toContain('flotilla_bad_digests{set="web"} 1');
  });
});

describe('healthz report', () => {
  const idle: SingleFlightState = { running: false, runningSince: null, pending: false, stopped: false, ticks: 3, lastStartedAt: 1000, lastFinishedAt: 2000, lastOk: false };

  it('is 200 when idle, even after a failed tick', () => {
    const r = reportHealthz(idle, 10_000);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ok: true, lastTick: { ok: false, finishedAt: new Date(2000).toISOString() } });
  });

  it('is 503 "wedged" when one tick runs past the limit, 200 just below it', () => {
    const running = { ...idle, running: true, runningSince: 5000 };
    expect(reportHealthz(running, 5000 + 60_000, 60_000).status).toBe(200);
    const wedged = reportHealthz(running, 5000 + 60_001, 60_000);
    expect(wedged.status).toBe(503);
    expect(wedged.body).toMatchObject({ ok: false, reason: 'wedged', runningForMs: 60_001 });
  });

  it('is 503 "stopping" after stop()', () => {
    expect(reportHealthz({ ...idle, stopped: true }, 0).body.reason).toBe('stopping');
  });
});
