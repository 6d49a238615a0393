import { describe, expect, it } from 'vitest';
import { createSingleFlight, type TriggerReason } from '../../src/agent/single-flight.js';

/** A fake tick we release by hand; records every run and the peak concurrency. */
function controlledTick() {
  const runs: TriggerReason[][] = [];
  const releases: Array<(fail?: boolean) => void> = [];
  let active = 0;
  let peak = 0;
  const tick = (reasons: readonly TriggerReason[]): Promise<string> => {
    runs.push([...reasons]);
    active += 1;
    peak = Math.max(peak, active);
    return new Promise((resolve, reject) => {
      releases.push((fail) => {
        active -= 1;
        if (fail === true) reject(new Error('tick failed'));
        else resolve(`tick-${runs.length}`);
      });
    });
  };
  return { tick, runs, releases, peak: () => peak };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('single-flight queue', () => {
  it('an idle request starts a tick at once and resolves with its outcome', async () => {
    const t = controlledTick();
    const q = createSingleFlight(t.tick);
    const outcome = q.request('startup');
    await flush();
    expect(t.runs).toEqual([['startup']]);
    expect(q.state()).toMatchObject({ running: true, pending: false, ticks: 1 });
    t.releases[0]!();
    await expect(outcome).resolves.toEqual({ ran: true, ok: true, value: 'tick-1' });
    expect(q.state()).toMatchObject({ running: false, lastOk: true });
  });

  it('requests during a tick cause exactly one more tick, sharing its outcome', async () => {
    const t = controlledTick();
    const q = createSingleFlight(t.tick);
    const first = q.request('cron');
    await flush();
    const during = [q.request('webhook'), q.request('watch'), q.request('webhook')];
    await flush();
    expect(t.runs).toHaveLength(1);
    expect(q.state().pending).toBe(true);
    t.releases[0]!();
    await first;
    await flush();
    expect(t.runs).toEqual([['cron'], ['webhook', 'watch']]);
    t.releases[1]!();
    const outcomes = await Promise.all(during);
    expect(outcomes.every((o) => o.ran && o.ok && o.value === 'tick-2')).toBe(true);
    await flush();
    expect(t.runs).toHaveLength(2);
    expect(t.peak()).toBe(1);
  });

  it('never runs two ticks at once under a storm of overlapping requests', async () => {
    const runs: number[] = [];
    let active = 0;
    let peak = 0;
    const q = createSingleFlight(async () => {
      active += 1;
      peak = Math.max(peak, active);
      runs.push(active);
      await new Promise((r) => setTimeout(r, Math.random() * 3));
      active -= 1;
    });
    const all: Array<Promise<unknown>> = [];
    for (let i = 0; i < 200; i += 1) {
      all.push(q.request(i % 2 === 0 ? 'cron' : 'webhook'));
      if (i % 7 === 0) await new Promise((r) => setTimeout(r, Math.random() * 4));
    }
    await Promise.all(all);
    expect(peak).toBe(1);
    expect(runs.length).toBeGreaterThan(1);
    expect(runs.length).toBeLessThan(200);
  });

  it('a failing tick is reported to its requesters and onError, and the queue keeps going', async () => {
    const t = controlledTick();
    const errors: unknown[] = [];
    const q = createSingleFlight(t.tick, { onError: (e) => errors.push(e) });
    const a = q.request('cron');
    await flush();
    t.releases[0]!(true);
    const outcome = await a;
    expect(outcome).toMatchObject({ ran: true, ok: false });
    expect(errors).toHaveLength(1);
    expect(q.state().lastOk).toBe(false);
    const b = q.request('cron');
    await flush();
    t.releases[1]!();
    await expect(b).resolves.toMatchObject({ ran: true, ok: true });
  });

  it('stop() lets the running tick finish, drops the pending one and refuses new requests', async () => {
    const t = controlledTick();
    const q = createSingleFlight(t.tick);
    const running = q.request('cron');
    await flush();
    const pending = q.request('webhook');
    let stoppedResolved = false;
    const stopped = q.stop().then(() => {
      stoppedResolved = true;
    });
    await expect(pending).resolves.toEqual({ ran: false });
    await flush();
    expect(stoppedResolved).toBe(false);
    t.releases[0]!();
    await stopped;
    await expect(running).resolves.toMatchObject({ ran: true, ok: true });
    await expect(q.request('late')).resolves.toEqual({ ran: false });
    expect(t.runs).toEqual([['cron']]);
  });

  it('reports runningSince from the clock port', async () => {
    let clock = 1000;
    const t = controlledTick();
    const q = createSingleFlight(t.tick, { now: () => clock });
    void q.request('cron');
    await flush();
    expect(q.state().runningSince).toBe(1000);
    clock = 5000;
    t.releases[0]!();
    await flush();
    expect(q.state()).toMatchObject({ runningSince: null, lastStartedAt: 1000, lastFinishedAt: 5000 });
  });
});
