// Delivery from the outbox with real processes as command receivers and a real directory store for claims:
// the event on stdin, the claim deciding which of two machines sends, retries scheduled, nothing raised twice.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/activation/run-command.js';
import type { Receiver } from '../../src/declarations/types.js';
import { deliverOutbox, raiseEvent, readBox, type RaisedEvent } from '../../src/notify/index.js';
import { saveEntry } from '../../src/notify/outbox.js';
import type { ClosureRef } from '../../src/store/closure-ref.js';
import { openStore } from '../../src/store/open-store.js';

const log = pino({ level: 'silent' });
const DIGEST = `sha256:${'b'.repeat(64)}` as ClosureRef;

describe('delivering the outbox', () => {
  let root: string;
  let storeDir: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'flotilla-deliver-'));
    storeDir = join(root, 'store');
  });
  afterAll(async () => rm(root, { recursive: true, force: true }));

  const receiver = (name: string, script: string, timeoutMs = 10_000): Receiver => ({ name, type: 'command', command: ['/bin/sh', '-c', script], events: ['digest-quarantined', 'agent-stalled'], timeoutMs });
  const event = (sender: string, kind: RaisedEvent['kind'] = 'digest-quarantined'): RaisedEvent => ({ kind, rollout: 'r00000000000000aa', set: 'app', digest: DIGEST, commit: 'c'.repeat(40), sender, reason: 'HealthCheckFailed', message: 'health check failed', ...(kind === 'agent-stalled' ? { machine: sender } : {}) });
  const deliver = (stateDir: string, now = new Date()): Promise<Date | undefined> => {
    const store = openStore(storeDir, { writable: true });
    return deliverOutbox({ stateDir, openStore: () => store, now: () => now, log, runner: runCommand, secretOf: () => Promise.reject(new Error('no secrets here')) }).finally(() => store.close());
  };

  it('hands the event to the command on stdin; a second machine that saw the same event loses the claim', async () => {
    const out = join(root, 'received.json');
    const receivers = [receiver('capture', `cat >> '${out}'`)];
    const [a, b] = [join(root, 'state-a'), join(root, 'state-b')];
    expect(await raiseEvent(a, { receivers, coordination: storeDir, now: new Date() }, event('m1'))).toBe(true);
    expect(await raiseEvent(b, { receivers, coordination: storeDir, now: new Date() }, event('m2'))).toBe(true);
    expect(await deliver(a)).toBeUndefined();
    expect(await deliver(b)).toBeUndefined();
    const lines = (await readFile(out, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ schema: 'flotilla.event/v1', id: 'r00000000000000aa.digest-quarantined', kind: 'digest-quarantined', machine: 'm1', digest: DIGEST });
    expect((await readBox(b, 'sent')).map((e) => e.lastError)).toEqual(['lost']);
    // Raised again on the next tick: already sent, not raised twice.
    expect(await raiseEvent(a, { receivers, coordination: storeDir, now: new Date() }, event('m1'))).toBe(false);
  });

  it('keeps a failed or timed-out delivery in the outbox with a later attempt, and sends it when that comes', async () => {
    const flag = join(root, 'fixed');
    const out = join(root, 'retried.json');
    const receivers = [receiver('flaky', `test -e '${flag}' || exit 7; cat > '${out}'`), receiver('slow', 'sleep 5', 300)];
    const state = join(root, 'state-c');
    const now = new Date();
    await raiseEvent(state, { receivers, coordination: storeDir, now }, event('m3', 'agent-stalled'));
    const next = await deliver(state, now);
    expect(next?.getTime()).toBeGreaterThan(now.getTime());
    const [entry] = await readBox(state, 'outbox');
    expect(entry).toMatchObject({ attempts: 1, claimed: true });
    expect(entry?.lastError).toMatch(/flaky: exited with 7.*slow: timed out after 300 ms/);
    expect(entry?.pending.map((r) => r.name)).toEqual(['flaky', 'slow']);
    // Not due yet: nothing is attempted.
    expect(await deliver(state, now)).toEqual(next);
    await writeFile(flag, '');
    // The slow receiver is dropped from the entry by hand, so the retry can only succeed through the fixed one.
    if (entry === undefined) throw new Error('no outbox entry');
    await saveEntry(state, { ...entry, pending: entry.pending.filter((r) => r.name === 'flaky') });
    expect(await deliver(state, new Date(next!.getTime() + 1))).toBeUndefined();
    expect(JSON.parse(await readFile(out, 'utf8'))).toMatchObject({ kind: 'agent-stalled', machine: 'm3', reason: 'HealthCheckFailed' });
    expect(await readBox(state, 'outbox')).toEqual([]);
  });
});
