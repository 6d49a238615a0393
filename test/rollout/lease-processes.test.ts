import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/rollout/clock.js';
import { acquireSlot, LeaseObserver, type Lease } from '../../src/rollout/lease.js';
import { unlockMachine } from '../../src/rollout/lease-admin.js';
import { parseLeaseRecord } from '../../src/rollout/lease-record.js';
import type { Store } from '../../src/store/store.js';
import { openStore } from '../../src/store/open-store.js';
import { s3TestUrl } from '../helpers/s3-test-store.js';
import { DIGEST, tempFsStore } from './lease-helpers.js';

// Real processes against the real directory store: contention across processes, SIGSTOP past the TTL,
// kill -9. The children import the build in dist/ (run `npx tsc -p tsconfig.build.json` first).
const CHILD = resolve('test/rollout/fixtures/lease-child.mjs');
const SLOW = process.env.FLOTILLA_SLOW === '1';

type Line = Record<string, unknown> & { event: string };

/** A child process with a queue of its JSON output lines. */
class Child {
  readonly proc: ChildProcess;
  private readonly lines: Line[] = [];
  private waiters: Array<() => void> = [];
  /** Every line the child wrote has been read: its stdout ended, which may come after its exit is seen. */
  private drained = false;
  exited: Promise<number | null>;

  constructor(mode: string, args: Record<string, unknown>) {
    this.proc = spawn(process.execPath, [CHILD, mode, JSON.stringify(args)], { stdio: ['pipe', 'pipe', 'inherit'] });
    const wake = (): void => {
      for (const w of this.waiters.splice(0)) w();
    };
    createInterface({ input: this.proc.stdout! })
      .on('line', (l) => {
        this.lines.push(JSON.parse(l) as Line);
        wake();
      })
      .on('close', () => {
        this.drained = true;
        wake();
      });
    this.exited = new Promise((r) => this.proc.on('exit', (code) => r(code)));
  }

  /** The next output line with `event` (waits up to `ms`). */
  async next(event: string, ms = 30_000): Promise<Line> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.lines.findIndex((l) => l.event === event);
      if (i >= 0) return this.lines.splice(i, 1)[0]!;
      // Only once its output is read to the end: a child's exit can be seen before its last lines are.
      if (this.drained && (this.proc.exitCode !== null || this.proc.signalCode !== null)) throw new Error(`child ${this.proc.pid} exited (${this.proc.exitCode ?? this.proc.signalCode}) without a "${event}" line`);
      if (Date.now() > deadline) throw new Error(`child ${this.proc.pid}: no "${event}" line within ${ms} ms`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }

  send(line: string): void {
    this.proc.stdin!.write(`${line}\n`);
  }
}

/** Polls acquireSlot like an agent would, until it wins or `ms` pass. */
async function pollForSlot(store: Store, machine: string, ttlMs: number, observations: LeaseObserver, ms = 30_000): Promise<Lease> {
  const deadline = Date.now() + ms;
  for (;;) {
    const l = await acquireSlot({ store, set: 'web', rollout: 'r-proc', slots: 1, machine, holder: `${machine}-${process.pid}`, digest: DIGEST, ttlMs, clock: systemClock, observations });
    if (l) return l;
    if (Date.now() > deadline) throw new Error(`${machine} did not get the slot within ${ms} ms`);
    await sleep(100);
  }
}

/** The same process-level suite on each backend (children inherit the AWS_* environment s3TestUrl sets). */
function runProcessSuite(name: string, open: () => Promise<{ store: Store; url: string; cleanup: () => Promise<void> }>): void {
  describe(`lease protocol across real processes (${name})`, () => {
    let store: Store;
    let url: string;
    let cleanup: () => Promise<void>;
    const children: Child[] = [];
    beforeAll(() => {
      if (!existsSync(resolve('dist/src/rollout/lease.js'))) throw new Error('dist/src/rollout/lease.js is missing: run `npx tsc -p tsconfig.build.json` first');
    });
    beforeEach(async () => {
      ({ store, url, cleanup } = await open());
    });
    afterEach(async () => {
      for (const c of children.splice(0)) if (c.proc.exitCode === null && c.proc.signalCode === null) { c.proc.kill('SIGCONT'); c.proc.kill('SIGKILL'); }
      await cleanup();
    });

    /** A child that has loaded its code; one that died while loading (dist/ rebuilt under it) is replaced. */
    async function spawnReady(args: Record<string, unknown>, mode = 'race'): Promise<Child> {
      for (let attempt = 0; ; attempt++) {
        const c = new Child(mode, args);
        children.push(c);
        try {
          await c.next('ready', 60_000);
          return c;
        } catch (err) {
          if (attempt >= 2) throw err;
        }
      }
    }

    it(`${SLOW ? 50 : 20} processes race for one slot: exactly one winner per round`, { timeout: 900_000 }, async () => {
      const n = SLOW ? 50 : 20;
      const rounds = SLOW ? 5 : 3;
      let lastToken = 0;
      for (let r = 0; r < rounds; r++) {
        const racers = await Promise.all(Array.from({ length: n }, (_, i) => spawnReady({ store: url, set: 'web', rollout: 'r-proc', machine: `p${i}`, digest: DIGEST, ttlMs: 120_000 })));
        for (const c of racers) c.send('go');
        const results = await Promise.all(racers.map((c) => c.next('race', 60_000)));
        await Promise.all(racers.map((c) => c.exited));
        const winners = results.filter((x) => x['won'] === true);
        expect(winners.length).toBe(1);
        const token = winners[0]!['token'] as number;
        expect(token).toBeGreaterThan(lastToken);
        lastToken = token;
        // The winner exited holding the slot (a long TTL), so late starters could not win; an operator
        // unlock turns it into a tombstone and the next round races over that by compare-and-swap.
        const winner = racers[results.indexOf(winners[0]!)]!;
        expect(winner).toBeDefined();
        const machine = `p${racers.indexOf(winner)}`;
        expect(await unlockMachine(store, 'web', machine)).toHaveLength(1);
      }
    });

    it('a holder paused with SIGSTOP past its TTL loses the slot; after SIGCONT its renew and release fail without harming the new holder', async () => {
      const ttlMs = 1500;
      const paused = await spawnReady({ store: url, set: 'web', rollout: 'r-proc', machine: 'sleepy', digest: DIGEST, ttlMs, renewMs: 300 }, 'hold');
      const acquired = await paused.next('acquired');
      paused.proc.kill('SIGSTOP');
      const observations = new LeaseObserver();
      const fresh = await pollForSlot(store, 'awake', ttlMs, observations);
      expect(fresh.token).toBeGreaterThan(acquired['token'] as number);
      paused.proc.kill('SIGCONT');
      const renew = await paused.next('renew');
      expect(renew).toMatchObject({ ok: false, code: 'LeaseError' });
      paused.send('stop-renewing');
      paused.send('release');
      expect(await paused.next('release')).toMatchObject({ ok: false, code: 'LeaseError' });
      await fresh.renew();
      await fresh.assertHeld();
      const rec = parseLeaseRecord(await store.getBytes('leases/web/r-proc/slot-0', { maxBytes: 65536 }));
      expect(rec).toMatchObject({ holder: fresh.holder, state: 'held', token: fresh.token });
      paused.send('exit');
      await paused.exited;
      await fresh.release();
    });

    it('a holder killed with kill -9 frees its slot after the TTL as seen by the observer', async () => {
      const ttlMs = 1500;
      const doomed = await spawnReady({ store: url, set: 'web', rollout: 'r-proc', machine: 'doomed', digest: DIGEST, ttlMs, renewMs: 300 }, 'hold');
      const acquired = await doomed.next('acquired');
      doomed.proc.kill('SIGKILL');
      await doomed.exited;
      const observations = new LeaseObserver();
      // The observer has only just started watching: the dead lease is still live to it.
      expect(await acquireSlot({ store, set: 'web', rollout: 'r-proc', slots: 1, machine: 'heir', holder: 'heir-1', digest: DIGEST, ttlMs, clock: systemClock, observations })).toBeNull();
      const heir = await pollForSlot(store, 'heir', ttlMs, observations);
      expect(heir.token).toBeGreaterThan(acquired['token'] as number);
      await heir.release();
    });
  });
}

runProcessSuite('directory store', tempFsStore);
runProcessSuite('S3, Ceph RGW', async () => {
  const url = await s3TestUrl('leases-proc/');
  const store = openStore(url);
  return { store, url, cleanup: () => store.close() };
});
