import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Reason } from '../../src/status/conditions.js';
import { MACHINE_STATUS_SCHEMA, isParseProblem, type MachineStatus } from '../../src/status/machine-status.js';
import { readMachineStatus, readSetStatuses, writeMachineStatus } from '../../src/status/status-io.js';
import { digestFromHex } from '../../src/store/digest.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { s3TestUrl } from '../helpers/s3-test-store.js';

const D = digestFromHex('d'.repeat(64));
const status = (machine: string, set = 'web'): MachineStatus => ({
  schema: MACHINE_STATUS_SCHEMA, machine, set, desiredDigest: D, currentDigest: D, generation: 1, commit: null, state: 'Ready',
  conditions: [{ type: 'Ready', status: 'True', reason: Reason.Succeeded, message: 'ok', lastTransitionTime: '2026-01-01T00:00:00.000Z' }],
  rollout: null, reportedAt: '2026-01-01T00:00:00.000Z', agentVersion: '0.1.0',
});

function runStatusSuite(name: string, open: () => Promise<{ store: Store; cleanup: () => Promise<void> }>): void {
  describe(`status files in a real store (${name})`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store, cleanup } = await open());
    });
    afterEach(async () => cleanup());

    it('writes and reads back every machine of a set, flagging bad files without hiding good ones', async () => {
      await writeMachineStatus(store, status('a'));
      await writeMachineStatus(store, status('b'));
      await writeMachineStatus(store, status('x', 'db'));
      await store.put('status/web/c.json', Buffer.from('{"schema":"nope"}'));
      await store.put('status/web/d.json', Buffer.from(JSON.stringify(status('a')))); // a copy of a's report
      await store.put('status/web/notes.txt', Buffer.from('ignored'));
      await store.put('status/web/big.json', Buffer.alloc(70 * 1024, 32));
      const all = await readSetStatuses(store, 'web');
      expect([...all.keys()].sort()).toEqual(['a', 'b', 'big', 'c', 'd']);
      expect(all.get('a')).toEqual(status('a'));
      const c = all.get('c')!;
      expect(isParseProblem(c) && c.problem).toMatch(/status\/web\/c\.json: \/schema/);
      const d = all.get('d')!;
      expect(isParseProblem(d) && d.problem).toMatch(/says set "web" machine "a"/);
      const big = all.get('big')!;
      expect(isParseProblem(big) && big.problem).toMatch(/larger than/);
    });

    it('reads one machine, null when it never reported', async () => {
      expect(await readMachineStatus(store, 'web', 'a')).toBeNull();
      await writeMachineStatus(store, status('a'));
      expect(await readMachineStatus(store, 'web', 'a')).toEqual(status('a'));
    });
  });
}

runStatusSuite('directory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-status-'));
  const store = openStore(dir);
  return { store, cleanup: async () => { await store.close(); await rm(dir, { recursive: true, force: true }); } };
});
runStatusSuite('S3, Ceph RGW', async () => {
  const store = openStore(await s3TestUrl('status-test/'));
  return { store, cleanup: () => store.close() };
});
