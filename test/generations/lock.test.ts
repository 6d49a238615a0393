import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { link, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { acquireSetLock, setPaths, withSetLock } from '../../src/generations/index.js';
import { runChild } from './child-process.js';
import { expectConsistent } from './consistency.js';
import { CHILD, closure, makeStateDir, requireBuild } from './fixture.js';

const SET = 'web';
let stateDir: string;
let cleanup: () => Promise<void>;
beforeAll(() => requireBuild());
beforeEach(async () => ({ stateDir, cleanup } = await makeStateDir()));
afterEach(async () => cleanup());

describe('the set lock', () => {
  it('serialises two processes switching the same set (after a dead holder): enter/leave never interleave', { timeout: 120_000 }, async () => {
    const closures = [await closure(stateDir, 'v1'), await closure(stateDir, 'v2')];
    const log = join(stateDir, 'lock.log');
    const go = join(stateDir, 'go');
    const args = { stateDir, set: SET, iterations: 12, log, closures, go };
    // A lock left by a dead process: both children find it and race to break it; only one may win.
    await acquireSetLock(stateDir, SET).then((release) => release());
    await writeFile(setPaths(stateDir, SET).lock, JSON.stringify({ pid: 2 ** 22 + 9, token: 'deaddeaddeaddead', host: 'h', purpose: 'crashed', since: 'x' }));
    const children = [runChild('lock-loop', args), runChild('lock-loop', args)];
    // Start both loops together, so that without the lock they would overlap.
    while ((await readFile(log, 'utf8').catch(() => '')).split('\n').filter((l) => l.startsWith('ready')).length < 2) await sleep(10);
    await writeFile(go, '');
    const exits = await Promise.all(children);
    for (const e of exits) expect(e.code, e.stderr).toBe(0);
    const lines = (await readFile(log, 'utf8')).split('\n').filter((l) => l.startsWith('enter') || l.startsWith('leave'));
    expect(lines).toHaveLength(2 * 2 * 12);
    for (let i = 0; i < lines.length; i += 2) {
      const [enter, leave] = [lines[i]!.split(' '), lines[i + 1]!.split(' ')];
      expect(enter[0]).toBe('enter');
      expect(leave).toEqual(['leave', enter[1]]);
    }
    expect(new Set(lines.map((l) => l.split(' ')[1])).size).toBe(2);
    await expectConsistent(stateDir, SET);
  });

  it('names the holder when it times out, and dies with a holder killed by SIGKILL', { timeout: 30_000 }, async () => {
    const holder = spawn(process.execPath, [CHILD, 'hold-lock', JSON.stringify({ stateDir, set: SET })], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    holder.stdout.on('data', (c: Buffer) => (out += c.toString()));
    while (!out.includes('locked')) await once(holder.stdout, 'data');
    await expect(acquireSetLock(stateDir, SET, { timeoutMs: 150 })).rejects.toMatchObject({
      code: 'LockedError',
      data: { pid: holder.pid, purpose: 'hold-lock', file: setPaths(stateDir, SET).lock },
    });
    holder.kill('SIGKILL');
    await once(holder, 'close');
    const release = await acquireSetLock(stateDir, SET, { timeoutMs: 5000 });
    expect(JSON.parse(await readFile(setPaths(stateDir, SET).lock, 'utf8'))).toMatchObject({ pid: process.pid });
    await release();
    expect(existsSync(setPaths(stateDir, SET).lock)).toBe(false);
  });

  it('breaks a lock left by a dead pid or with unreadable contents', async () => {
    const lockFile = setPaths(stateDir, SET).lock;
    await acquireSetLock(stateDir, SET).then((r) => r()); // creates the set dir
    await writeFile(lockFile, JSON.stringify({ pid: 2 ** 22 + 7, token: 'aaaaaaaaaaaaaaaa', host: 'h', purpose: 'gone', since: 'x' }));
    await (await acquireSetLock(stateDir, SET, { timeoutMs: 1000 }))();
    await writeFile(lockFile, '{"pid": 12, "tok');
    await (await acquireSetLock(stateDir, SET, { timeoutMs: 1000 }))();
    expect(existsSync(lockFile)).toBe(false);
  });

  it('waits, then names the dead holder, when an earlier breaker died halfway (no busy loop)', async () => {
    const lockFile = setPaths(stateDir, SET).lock;
    await acquireSetLock(stateDir, SET).then((r) => r());
    await writeFile(lockFile, JSON.stringify({ pid: 2 ** 22 + 11, token: 'beefbeefbeefbeef', host: 'h', purpose: 'crashed', since: 'x' }));
    await link(lockFile, join(setPaths(stateDir, SET).setDir, '.lock-dead-beefbeefbeefbeef'));
    await expect(acquireSetLock(stateDir, SET, { timeoutMs: 200 })).rejects.toMatchObject({
      code: 'LockedError',
      message: expect.stringContaining('dead but whose lock is being broken') as string,
    });
  });

  it('is re-entrant within one call chain and serialises concurrent chains of one process', async () => {
    const order: string[] = [];
    const task = (name: string) =>
      withSetLock(stateDir, SET, async () => {
        order.push(`${name}+`);
        await withSetLock(stateDir, SET, async () => sleep(20)); // nested: must not deadlock
        order.push(`${name}-`);
      });
    await Promise.all([task('a'), task('b')]);
    expect([order.slice(0, 2), order.slice(2)].every(([x, y]) => x?.[0] === y?.[0])).toBe(true);
  });
});
