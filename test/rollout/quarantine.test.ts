import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clearQuarantine, listQuarantines, readQuarantine, writeQuarantine } from '../../src/rollout/quarantine.js';
import { Reason } from '../../src/status/conditions.js';
import { digestFromHex } from '../../src/store/digest.js';
import type { Store } from '../../src/store/store.js';
import { openStore } from '../../src/store/open-store.js';
import { s3TestUrl } from '../helpers/s3-test-store.js';
import { DIGEST, tempFsStore } from './lease-helpers.js';

const OTHER = digestFromHex('f'.repeat(64));
const failure = (machine: string) => ({ machine, reason: Reason.HealthCheckFailed, message: `${machine}: http 500`, time: '2026-01-06T12:00:00.000Z' });

function runQuarantineSuite(name: string, open: () => Promise<{ store: Store; cleanup: () => Promise<void> }>): void {
  describe(`quarantine markers in a real store (${name})`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store, cleanup } = await open());
    });
    afterEach(async () => cleanup());

    it('the first failure creates the marker; later machines are appended once each', async () => {
      expect(await readQuarantine(store, 'web', DIGEST)).toBeNull();
      await writeQuarantine(store, 'web', DIGEST, failure('a'));
      await writeQuarantine(store, 'web', DIGEST, failure('b'));
      await writeQuarantine(store, 'web', DIGEST, { ...failure('a'), message: 'again' });
      const q = (await readQuarantine(store, 'web', DIGEST))!;
      expect(q.failures.map((f) => f.machine)).toEqual(['a', 'b']);
      expect(q.failures[0]!.message).toBe('a: http 500');
    });

    it('concurrent failures on many machines are all recorded (compare-and-swap append)', async () => {
      const machines = Array.from({ length: 12 }, (_, i) => `m${i}`);
      await Promise.all(machines.map((m) => writeQuarantine(store, 'web', DIGEST, failure(m))));
      const q = (await readQuarantine(store, 'web', DIGEST))!;
      expect(q.failures.map((f) => f.machine).sort()).toEqual([...machines].sort());
    });

    it('lists per set and clears one digest', async () => {
      await writeQuarantine(store, 'web', DIGEST, failure('a'));
      await writeQuarantine(store, 'web', OTHER, failure('b'));
      await writeQuarantine(store, 'db', DIGEST, failure('c'));
      expect((await listQuarantines(store, 'web')).map((q) => q.digest).sort()).toEqual([DIGEST, OTHER].sort());
      expect(await clearQuarantine(store, 'web', DIGEST)).toBe(true);
      expect(await clearQuarantine(store, 'web', DIGEST)).toBe(false);
      expect((await listQuarantines(store, 'web')).map((q) => q.digest)).toEqual([OTHER]);
      expect(await readQuarantine(store, 'db', DIGEST)).not.toBeNull();
    });

    it('an unreadable marker still quarantines, and says why details are missing', async () => {
      await store.put(`quarantine/web/${'e'.repeat(64)}`, Buffer.from('not json'));
      const q = (await readQuarantine(store, 'web', DIGEST))!;
      expect(q.failures).toHaveLength(1);
      expect(q.failures[0]!.message).toMatch(/not JSON/);
      await writeQuarantine(store, 'web', DIGEST, failure('z'));
      expect((await readQuarantine(store, 'web', DIGEST))!.failures.map((f) => f.machine)).toEqual(['z']);
    });
  });
}

runQuarantineSuite('directory', tempFsStore);
runQuarantineSuite('S3, Ceph RGW', async () => {
  const store = openStore(await s3TestUrl('quarantine-test/'));
  return { store, cleanup: () => store.close() };
});
