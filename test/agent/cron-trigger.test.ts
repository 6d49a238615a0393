import { describe, expect, it } from 'vitest';
import { startCronTrigger } from '../../src/agent/cron-trigger.js';
import type { RequestOutcome } from '../../src/agent/single-flight.js';
import { ConfigError } from '../../src/errors/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(predicate: () => boolean, limitMs = 10_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await sleep(20);
  }
}

describe('cron trigger', () => {
  it('fires on a seconds schedule (with jitter and a time zone) and stops cleanly', async () => {
    const reasons: string[] = [];
    const stop = startCronTrigger({
      schedule: '*/1 * * * * *',
      timezone: 'Europe/Paris',
      maxRandomDelayMs: 200,
      request: (reason) => {
        reasons.push(reason);
        return Promise.resolve({ ran: true, ok: true, value: undefined });
      },
    });
    await waitFor(() => reasons.length >= 2);
    await stop();
    const seen = reasons.length;
    await sleep(1500);
    expect(reasons.length).toBe(seen);
    expect(new Set(reasons)).toEqual(new Set(['cron']));
  });

  it('skips firings while the previous cron-requested tick is still running (noOverlap)', async () => {
    let calls = 0;
    let release: (o: RequestOutcome) => void = () => undefined;
    const stop = startCronTrigger({
      schedule: '* * * * * *',
      request: () => {
        calls += 1;
        return new Promise((r) => {
          release = r;
        });
      },
    });
    await waitFor(() => calls === 1);
    await sleep(2500);
    expect(calls).toBe(1);
    release({ ran: true, ok: true, value: undefined });
    await waitFor(() => calls === 2);
    await stop();
  });

  it('refuses an invalid expression or time zone with ConfigError', () => {
    const request = (): Promise<RequestOutcome> => Promise.resolve({ ran: false });
    expect(() => startCronTrigger({ schedule: '61 * * * * *', request })).toThrow(ConfigError);
    expect(() => startCronTrigger({ schedule: '* * * * *', timezone: 'Mars/Olympus', request })).toThrow(/not a known time zone/);
    expect(() => startCronTrigger({ schedule: '* * * * *', maxRandomDelayMs: -1, request })).toThrow(ConfigError);
  });
});
