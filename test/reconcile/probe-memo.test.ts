import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../scripts/servers/free-port.js';
import { hasCode } from '../../src/errors/index.js';
import { countRequests } from '../../src/fetch/counting-store.js';
import { probeMemoFile } from '../../src/generations/layout.js';
import { probeRemembered } from '../../src/reconcile/probe-memo.js';
import { createFsStore } from '../../src/store/fs-store.js';
import { probeConditionalWrites } from '../../src/store/probe.js';
import { createS3Store } from '../../src/store/s3-store.js';

const DAY = 24 * 60 * 60 * 1000;
const T0 = Date.parse('2026-12-01T00:00:00Z');

describe('the conditional-write probe is remembered in the state dir', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'flotilla-probe-memo-'));
  });
  afterAll(async () => rm(root, { recursive: true, force: true }));

  it('probes a store once a day, whichever process asks', async () => {
    const stateDir = join(root, 'state-a');
    const counter = { requests: 0 };
    const store = countRequests(createFsStore(join(root, 'store-a')), counter);
    const ask = (nowMs: number) => probeRemembered({ file: probeMemoFile(stateDir), url: 'store-a', nowMs, probe: () => probeConditionalWrites(store) });
    expect(await ask(T0)).toEqual({ ok: true });
    const afterFirst = counter.requests;
    expect(afterFirst).toBeGreaterThan(0);
    // A later tick worker (same state dir, no memory of its own) within the day asks nothing of the store.
    expect(await ask(T0 + DAY - 1)).toEqual({ ok: true });
    expect(counter.requests).toBe(afterFirst);
    // A day later the store is probed again.
    expect(await ask(T0 + DAY)).toEqual({ ok: true });
    expect(counter.requests).toBeGreaterThan(afterFirst);
  });

  it('remembers a store that cannot coordinate, with the reason', async () => {
    const stateDir = join(root, 'state-b');
    const readOnly = createFsStore(join(root, 'store-b'), { writable: false });
    let probes = 0;
    const ask = () => probeRemembered({ file: probeMemoFile(stateDir), url: 'store-b', nowMs: T0, probe: () => (probes++, probeConditionalWrites(readOnly)) });
    const first = await ask();
    expect(first.ok).toBe(false);
    expect(await ask()).toEqual({ ok: false, reason: first.reason });
    expect(probes).toBe(1);
  });

  it('never remembers a probe cut short by the network: it throws TransportError and probes again next time', async () => {
    const stateDir = join(root, 'state-c');
    const url = `s3://bucket`;
    const dead = createS3Store({ bucket: 'bucket', prefix: '', endpoint: `http://127.0.0.1:${await findFreePort()}`, url, deadlines: { attempts: 1 } });
    let probes = 0;
    const ask = () => probeRemembered({ file: probeMemoFile(stateDir), url, nowMs: T0, probe: () => (probes++, probeConditionalWrites(dead)) });
    for (let i = 0; i < 2; i++) {
      const err = await ask().then(() => undefined, (e: unknown) => e);
      expect(hasCode(err, 'TransportError')).toBe(true);
    }
    expect(probes).toBe(2);
    await expect(readFile(probeMemoFile(stateDir), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
    await dead.close();
  });
});
