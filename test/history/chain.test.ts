// The deployment log's defences, on real stores (a directory and Ceph RGW) with real ed25519 keys made the
// way an agent makes them: each test would fail if the signature check, the prev-hash check, the seq check
// or the key check were deleted from verify-chain.ts.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendRecord, readTail } from '../../src/history/append-record.js';
import { compactHistory } from '../../src/history/compact-history.js';
import { recordBytes, type HistoryEvent, type HistoryRecord } from '../../src/history/history-record.js';
import { ensureMachineKey, type MachineKey } from '../../src/history/machine-key.js';
import { readSetHistory } from '../../src/history/read-history.js';
import { verifyChain, type ChainProblemKind } from '../../src/history/verify-chain.js';
import { historyRecordKey } from '../../src/store/keys.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { digestFromHex } from '../../src/store/digest.js';
import { s3TestUrl } from '../helpers/s3-test-store.js';

const V1 = digestFromHex('1'.repeat(64));
const V2 = digestFromHex('2'.repeat(64));
const COMMIT = 'a'.repeat(40);

function event(i: number): HistoryEvent {
  return { set: 'web', event: i % 2 === 0 ? 'switch' : 'rollback', from: i % 2 === 0 ? V1 : V2, to: i % 2 === 0 ? V2 : V1, generation: i, commit: COMMIT, time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), reason: 'Succeeded', message: `event ${i}` };
}

async function appendAll(store: Store, key: MachineKey, n: number): Promise<void> {
  let tail = await readTail(store, 'web', 'm1');
  for (let i = 1; i <= n; i++) tail = (await appendRecord(store, key, 'm1', event(i), tail)).tail;
}

async function verified(store: Store, key: string | null): Promise<{ kinds: ChainProblemKind[]; seqs: number[]; ok: boolean[] }> {
  const entries = (await readSetHistory(store, 'web')).get('m1') ?? [];
  const chain = verifyChain('web', 'm1', entries, key);
  return { kinds: chain.problems.map((p) => p.kind), seqs: chain.records.map((r) => r.record.seq), ok: chain.records.map((r) => r.verified) };
}

async function rewrite(store: Store, seq: number, change: (r: HistoryRecord) => HistoryRecord): Promise<void> {
  const key = historyRecordKey('web', 'm1', seq);
  const r = JSON.parse((await store.getBytes(key, { maxBytes: 65536 })).toString('utf8')) as HistoryRecord;
  await store.put(key, recordBytes(change(r)));
}

function suite(name: string, open: () => Promise<{ store: Store; cleanup: () => Promise<void> }>): void {
  describe(`deployment-log chains on a real store (${name})`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let stateDir: string;
    let key: MachineKey;
    beforeEach(async () => {
      ({ store, cleanup } = await open());
      stateDir = await mkdtemp(join(tmpdir(), 'flotilla-history-'));
      key = await ensureMachineKey(stateDir, 'm1');
    });
    afterEach(async () => {
      await cleanup();
      await rm(stateDir, { recursive: true, force: true });
    });

    it('an intact chain verifies, in seq order, and appends continue after the stored tail', async () => {
      await appendAll(store, key, 4);
      expect(await verified(store, key.publicKey)).toEqual({ kinds: [], seqs: [1, 2, 3, 4], ok: [true, true, true, true] });
      // A writer that knows no tail (a fresh process) finds the end by listing; one with a stale tail loses the
      // create-if-absent race, re-reads the record in its way and continues after it: nothing is overwritten.
      const stale = await appendRecord(store, key, 'm1', event(5), { seq: 2, hash: 'f'.repeat(64) });
      expect(stale.record.seq).toBe(5);
      expect(await verified(store, key.publicKey)).toMatchObject({ kinds: [], seqs: [1, 2, 3, 4, 5] });
    });

    const tampers: Array<{ name: string; tamper: (s: Store, other: MachineKey) => Promise<void>; kinds: ChainProblemKind[] }> = [
      { name: 'a field changed after signing (the closure it ran)', tamper: (s) => rewrite(s, 2, (r) => ({ ...r, to: V1 })), kinds: ['bad-signature', 'broken-link'] },
      { name: 'a middle record deleted', tamper: (s) => s.delete(historyRecordKey('web', 'm1', 2)), kinds: ['missing'] },
      {
        name: 'a record re-signed with another key (and re-linked)',
        tamper: async (s, other) => {
          const r = JSON.parse((await s.getBytes(historyRecordKey('web', 'm1', 3), { maxBytes: 65536 })).toString('utf8')) as HistoryRecord;
          const prevTail = { seq: 2, hash: r.prev ?? '' };
          const forged = (await import('../../src/history/append-record.js')).signRecord(other, 'm1', { ...event(3), to: V1 }, prevTail);
          await s.put(historyRecordKey('web', 'm1', 3), recordBytes(forged));
        },
        kinds: ['foreign-key', 'broken-link'],
      },
      {
        name: 'two records swapped',
        tamper: async (s) => {
          const a = await s.getBytes(historyRecordKey('web', 'm1', 2), { maxBytes: 65536 });
          const b = await s.getBytes(historyRecordKey('web', 'm1', 3), { maxBytes: 65536 });
          await s.put(historyRecordKey('web', 'm1', 2), b);
          await s.put(historyRecordKey('web', 'm1', 3), a);
        },
        kinds: ['misplaced', 'broken-link', 'misplaced', 'broken-link', 'broken-link'],
      },
    ];
    it.each(tampers)('reports $name', async ({ tamper, kinds }) => {
      await appendAll(store, key, 4);
      const otherDir = await mkdtemp(join(tmpdir(), 'flotilla-history-other-'));
      try {
        await tamper(store, await ensureMachineKey(otherDir, 'm1'));
      } finally {
        await rm(otherDir, { recursive: true, force: true });
      }
      const v = await verified(store, key.publicKey);
      expect(v.kinds).toEqual(kinds);
      expect(v.ok).toContain(false);
    });

    it('a record whose prev hash is wrong is caught even when signed by the right key', async () => {
      await appendAll(store, key, 3);
      const forged = (await import('../../src/history/append-record.js')).signRecord(key, 'm1', event(2), { seq: 1, hash: '0'.repeat(64) });
      await store.put(historyRecordKey('web', 'm1', 2), recordBytes(forged));
      // Record 2 is well signed but links to nothing; record 3 no longer links to record 2.
      expect((await verified(store, key.publicKey)).kinds).toEqual(['broken-link', 'broken-link']);
    });

    it('deleting the newest records is caught against the head the status lists, and only then', async () => {
      await appendAll(store, key, 4);
      const tail = (await readTail(store, 'web', 'm1'))!;
      const head = { seq: tail.seq, sha256: tail.hash };
      const check = async (h: typeof head | null): Promise<ChainProblemKind[]> =>
        verifyChain('web', 'm1', (await readSetHistory(store, 'web')).get('m1') ?? [], key.publicKey, h).problems.map((p) => p.kind);
      expect(await check(head)).toEqual([]);
      await store.delete(historyRecordKey('web', 'm1', 4));
      await store.delete(historyRecordKey('web', 'm1', 3));
      expect(await check(null)).toEqual([]); // without a listed head the cut is invisible
      expect(await check(head)).toEqual(['truncated']);
      // Records appended after the status was written are fine; a different record at the head's seq is not.
      expect(await check({ seq: 2, sha256: head.sha256 })).toEqual(['broken-link']);
    });

    it('records cannot be verified without the key the machine lists', async () => {
      await appendAll(store, key, 2);
      expect((await verified(store, null)).kinds).toEqual(['no-key']);
    });

    it('compaction keeps every record verifiable, and tampering inside a segment is still caught', async () => {
      await appendAll(store, key, 7);
      expect(await compactHistory(store, 'web', 'm1', 8)).toBeNull(); // below the threshold: nothing moves
      expect(await compactHistory(store, 'web', 'm1', 5)).toEqual({ first: 1, last: 6 });
      const keys: string[] = (await store.list('history/web/m1/')).items.map((i) => i.key);
      expect(keys).toEqual(['history/web/m1/000000000001-000000000006.json', 'history/web/m1/000000000007.json']);
      expect(await verified(store, key.publicKey)).toEqual({ kinds: [], seqs: [1, 2, 3, 4, 5, 6, 7], ok: Array(7).fill(true) });
      // The chain goes on after a segment: the tail is found through the newest single.
      const next = await appendRecord(store, key, 'm1', event(8), await readTail(store, 'web', 'm1'));
      expect(next.record.seq).toBe(8);
      expect((await verified(store, key.publicKey)).kinds).toEqual([]);
      // Tamper with record 3 inside the segment: its signature no longer verifies, and record 4's link breaks.
      const segKey = 'history/web/m1/000000000001-000000000006.json';
      const text = (await store.getBytes(segKey, { maxBytes: 1 << 20 })).toString('utf8');
      await store.put(segKey, Buffer.from(text.replace('"message":"event 3"', '"message":"event three"')));
      expect((await verified(store, key.publicKey)).kinds).toEqual(['bad-signature', 'broken-link']);
    });

    it('a compaction cut short (segment written, singles left) reads each record once', async () => {
      await appendAll(store, key, 4);
      const singles = await Promise.all([1, 2, 3].map((s) => store.getBytes(historyRecordKey('web', 'm1', s), { maxBytes: 65536 })));
      await compactHistory(store, 'web', 'm1', 2);
      await Promise.all(singles.map((b, i) => store.put(historyRecordKey('web', 'm1', i + 1), b)));
      expect(await verified(store, key.publicKey)).toMatchObject({ kinds: [], seqs: [1, 2, 3, 4] });
      // Compacting again finds the same segment there and finishes the deletes.
      expect(await compactHistory(store, 'web', 'm1', 2)).toEqual({ first: 1, last: 3 });
      expect((await store.list('history/web/m1/')).items).toHaveLength(2);
    });

    it('the machine key is made once, 0600, and kept', async () => {
      const file = join(stateDir, 'history-key');
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const again = await ensureMachineKey(stateDir, 'm1');
      expect(again.publicKey).toBe(key.publicKey);
      expect((await readFile(file, 'utf8')).startsWith('m1:')).toBe(true);
    });
  });
}

suite('directory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-history-store-'));
  const store = openStore(dir);
  return { store, cleanup: async () => { await store.close(); await rm(dir, { recursive: true, force: true }); } };
});
suite('S3, Ceph RGW', async () => {
  const store = openStore(await s3TestUrl('history-test/'));
  return { store, cleanup: () => store.close() };
});
