// The switch is durable only if the set directory is fsynced AFTER `current` is renamed into place: before
// it, a power cut may bring back the old link while state.json already says "switched". Observed for real
// with strace(1) on a child process doing one switchGeneration; fails if the directory fsync is deleted
// or moved before the rename.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { commitSwitch, setPaths, stageGeneration, switchGeneration } from '../../src/generations/index.js';
import { CHILD, closure, makeStateDir } from './fixture.js';

const SET = 'web';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** One traced syscall: its name, its text and its result. */
interface Call {
  name: string;
  text: string;
  result: string;
}

/** Parses `strace -f` output (pid-prefixed, with unfinished/resumed halves joined) into calls in completion order. */
function parseStrace(log: string): Call[] {
  const pending = new Map<string, string>();
  const calls: Call[] = [];
  for (const raw of log.split('\n')) {
    const m = /^(\d+)\s+(.*)$/.exec(raw);
    if (!m) continue;
    const [, pid, rest] = m as unknown as [string, string, string];
    if (rest.endsWith('<unfinished ...>')) {
      pending.set(pid, rest.slice(0, -'<unfinished ...>'.length));
      continue;
    }
    const resumed = /^<\.\.\. (\w+) resumed>(.*)$/.exec(rest);
    const text = resumed ? `${pending.get(pid) ?? `${resumed[1]}(`}${resumed[2]}` : rest;
    const call = /^(\w+)\((.*)\)\s+=\s+(-?\d+)/.exec(text);
    if (call) calls.push({ name: call[1] as string, text: call[2] as string, result: call[3] as string });
  }
  return calls;
}

describe('switchGeneration: rename, then fsync of the set directory', () => {
  it('fsyncs the set dir after `current` is renamed into place (strace of a real switch)', async () => {
    expect(spawnSync('strace', ['-V']).status, 'strace(1) is needed for this test: apt-get install strace').toBe(0);
    const { stateDir, cleanup } = await makeStateDir();
    cleanups.push(cleanup);
    // v1 deployed, v2 staged: the traced child does only the switch to v2.
    for (const v of ['v1', 'v2']) {
      const c = await closure(stateDir, v);
      const { generation } = await stageGeneration({ stateDir, set: SET, ...c, origin: {} });
      if (v === 'v1') {
        await switchGeneration(stateDir, SET, generation.number);
        await commitSwitch(stateDir, SET);
      }
    }
    const log = join(stateDir, 'strace.log');
    execFileSync('strace', ['-f', '-qq', '-e', 'trace=rename,renameat,renameat2,open,openat,fsync,fdatasync', '-o', log, process.execPath, CHILD, 'switch', JSON.stringify({ stateDir, set: SET, to: 2 })], {
      stdio: 'pipe',
    });
    const { setDir, current } = setPaths(stateDir, SET);
    const calls = parseStrace(await readFile(log, 'utf8'));
    const renamed = calls.findIndex((c) => c.name.startsWith('rename') && c.result === '0' && c.text.includes('/.tmp-current-') && c.text.includes(`"${current}"`));
    expect(renamed, 'the rename of the temp link over current was not seen').toBeGreaterThanOrEqual(0);
    const after = calls.slice(renamed + 1);
    const opened = after.filter((c) => c.name.startsWith('open') && c.text.includes(`"${setDir}"`) && Number(c.result) >= 0).map((c) => c.result);
    const synced = after.filter((c) => (c.name === 'fsync' || c.name === 'fdatasync') && opened.includes(c.text.trim()));
    expect(synced, `no fsync of ${setDir} after the rename; calls after it: ${after.map((c) => `${c.name}(${c.text}) = ${c.result}`).join('; ')}`).not.toHaveLength(0);
    expect((await readFile(join(current, 'app', 'file'), 'utf8'))).toBe('v2');
  });
});
