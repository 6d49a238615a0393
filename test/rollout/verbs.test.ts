import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCliInProcess, type CliResult } from '../helpers/cli-in-process.js';
import { acquireSlot } from '../../src/rollout/lease.js';
import { LeaseError } from '../../src/errors/index.js';
import { readQuarantine, writeQuarantine } from '../../src/rollout/quarantine.js';
import { Reason } from '../../src/status/conditions.js';
import type { Store } from '../../src/store/store.js';
import { DIGEST, contender, tempFsStore } from './lease-helpers.js';
import { dataOf } from '../helpers/cli-json.js';

const run = (argv: string[]): Promise<CliResult> => runCliInProcess(argv);

describe('flotilla unquarantine and unlock', () => {
  let store: Store;
  let url: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ store, url, cleanup } = await tempFsStore());
  });
  afterEach(async () => cleanup());

  it('unquarantine clears the marker, and is a no-op the second time', async () => {
    await writeQuarantine(store, 'web', DIGEST, { machine: 'web-1', reason: Reason.HealthCheckFailed, message: 'http 500', time: new Date().toISOString() });
    const r = await run(['unquarantine', 'web', DIGEST, '--store', url, '--json']);
    expect(r.code).toBe(0);
    expect(dataOf(r.out)).toMatchObject({ ok: true, cleared: true, failures: [{ machine: 'web-1' }] });
    expect(await readQuarantine(store, 'web', DIGEST)).toBeNull();
    const again = await run(['unquarantine', 'web', DIGEST, '--store', url]);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/not quarantined/);
  });

  it('unquarantine refuses a malformed digest or set name before touching the store', async () => {
    const bad = await run(['unquarantine', 'web', 'sha256:XYZ', '--store', url]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/UsageError: DIGEST must be "sha256:"/);
    const badSet = await run(['unquarantine', '../etc', DIGEST, '--store', url]);
    expect(badSet.err).toMatch(/InvalidNameError/);
    const noStore = await run(['unquarantine', 'web', DIGEST]);
    expect(noStore.code).toBe(2);
  });

  it("unlock releases the machine's slot; its holder's next renew fails", async () => {
    const lease = (await acquireSlot(contender(store, 'stuck', { rollout: 'r1' })))!;
    const r = await run(['unlock', 'web', '--machine', 'stuck', '--store', url, '--json']);
    expect(r.code).toBe(0);
    expect(dataOf(r.out)).toMatchObject({ ok: true, released: ['leases/web/r1/slot-0'] });
    await expect(lease.renew()).rejects.toBeInstanceOf(LeaseError);
    const again = await run(['unlock', 'web', '--machine', 'stuck', '--store', url]);
    expect(again.out).toMatch(/holds no slot/);
  });

  it('unlock --rollout limits the release to one rollout', async () => {
    await acquireSlot(contender(store, 'm', { rollout: 'r1' }));
    await acquireSlot(contender(store, 'm', { rollout: 'r2' }));
    const r = await run(['unlock', 'web', '--machine', 'm', '--rollout', 'r2', '--store', url, '--json']);
    expect(dataOf(r.out)).toMatchObject({ released: ['leases/web/r2/slot-0'] });
  });
});
