// The outbox between a tick and the store: events noted during a tick survive an append that fails (a
// store that refuses writes), are appended in order on a later flush, and a pause is logged once per pause.
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { flushOutbox } from '../../src/history/flush-outbox.js';
import { outboxNotes } from '../../src/history/history-notes.js';
import type { HistoryEvent } from '../../src/history/history-record.js';
import { ensureMachineKey } from '../../src/history/machine-key.js';
import { readSetHistory } from '../../src/history/read-history.js';
import { verifyChain } from '../../src/history/verify-chain.js';
import { digestFromHex } from '../../src/store/digest.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { startHttpStoreServer } from '../helpers/http-store-server.js';

const V1 = digestFromHex('1'.repeat(64));
const V2 = digestFromHex('2'.repeat(64));
const log = pino({ level: 'silent' });

function ev(event: HistoryEvent['event'], set = 'web'): HistoryEvent {
  return { set, event, from: V1, to: V2, generation: 1, commit: 'b'.repeat(40), time: new Date().toISOString(), reason: 'Paused', message: event };
}

describe('the deployment-log outbox', () => {
  let root: string;
  let stateDir: string;
  let store: Store;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'flotilla-outbox-'));
    stateDir = join(root, 'state');
    await mkdir(stateDir);
    await mkdir(join(root, 'store'));
    store = openStore(join(root, 'store'), { writable: true });
  });
  afterEach(async () => {
    await store.close();
    await rm(root, { recursive: true, force: true });
  });

  it('keeps events through a failed append and appends them, in order, on a later flush', async () => {
    const key = await ensureMachineKey(stateDir, 'm1');
    const notes = outboxNotes(stateDir, log);
    await notes.note(ev('resume')); // not held: nothing to log
    await notes.note(ev('pause'));
    await notes.note(ev('pause')); // still held: logged once
    await notes.note(ev('switch', 'db'));
    await notes.note(ev('resume'));
    expect((await stat(join(stateDir, 'history-outbox.json'))).mode & 0o777).toBe(0o600);

    // A store that serves reads but refuses writes (plain HTTP): the flush fails quietly, nothing is lost.
    const server = await startHttpStoreServer(join(root, 'store'));
    const readOnly = openStore(server.url);
    try {
      const failed = await flushOutbox({ stateDir, machine: 'm1', store: readOnly, key, log });
      expect(failed).toEqual({ appended: 0, left: 3, compacted: 0, heads: {} });
    } finally {
      await readOnly.close();
      await server.close();
    }
    const kept = JSON.parse(await readFile(join(stateDir, 'history-outbox.json'), 'utf8')) as { pending: HistoryEvent[] };
    expect(kept.pending.map((e) => `${e.set}:${e.event}`)).toEqual(['web:pause', 'db:switch', 'web:resume']);

    const done = await flushOutbox({ stateDir, machine: 'm1', store, key, log });
    expect(done).toMatchObject({ appended: 3, left: 0, compacted: 0 });
    // The heads the status will list: each set's newest record.
    expect(Object.fromEntries(Object.entries(done.heads).map(([set, h]) => [set, h.seq]))).toEqual({ web: 2, db: 1 });
    const web = verifyChain('web', 'm1', (await readSetHistory(store, 'web')).get('m1') ?? [], key.publicKey);
    expect(web.problems).toEqual([]);
    expect(web.records.map((r) => r.record.event)).toEqual(['pause', 'resume']);
    expect(verifyChain('db', 'm1', (await readSetHistory(store, 'db')).get('m1') ?? [], key.publicKey).records.map((r) => r.record.event)).toEqual(['switch']);
    const idle = await flushOutbox({ stateDir, machine: 'm1', store, key, log });
    expect(idle.appended).toBe(0);
    expect(idle.heads).toEqual(done.heads); // kept in the outbox for the next ticks' reports
  });

  it('compacts as it appends, and the compacted log still verifies', async () => {
    const key = await ensureMachineKey(stateDir, 'm1');
    const notes = outboxNotes(stateDir, log);
    for (let i = 0; i < 5; i++) await notes.note(ev('switch'));
    expect(await flushOutbox({ stateDir, machine: 'm1', store, key, log, compactAfter: 4 })).toMatchObject({ appended: 5, left: 0, compacted: 3 });
    expect((await store.list('history/web/m1/')).items.map((i) => i.key.slice('history/web/m1/'.length))).toEqual(['000000000001-000000000003.json', '000000000004.json', '000000000005.json']);
    const chain = verifyChain('web', 'm1', (await readSetHistory(store, 'web')).get('m1') ?? [], key.publicKey);
    expect(chain.problems).toEqual([]);
    expect(chain.records.map((r) => r.record.seq)).toEqual([1, 2, 3, 4, 5]);
  });
});
