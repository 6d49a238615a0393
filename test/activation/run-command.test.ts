import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCommand, succeeded } from '../../src/activation/run-command.js';
import { isAlive, makeTempDir, waitDead } from './proc.js';

let dir: string;
let cleanup: () => Promise<void>;
const leftovers: number[] = [];

beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir('run'));
});
afterEach(async () => {
  for (const pid of leftovers.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await cleanup();
});

async function readPid(file: string): Promise<number> {
  for (let i = 0; i < 200; i += 1) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (text.trim() !== '') return Number(text.trim());
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no pid in ${file}`);
}

describe('runCommand', () => {
  it('reports a non-zero exit without throwing, with both output tails', async () => {
    const result = await runCommand({ argv: 'echo out; echo err >&2; exit 3', timeoutMs: 10_000 });
    expect(result).toMatchObject({ exitCode: 3, signal: null, timedOut: false, aborted: false });
    expect(result.stdoutTail).toBe('out\n');
    expect(result.stderrTail).toBe('err\n');
    expect(succeeded(result)).toBe(false);
  });

  it('runs an argv without a shell, in cwd, with exactly the given env', async () => {
    const result = await runCommand({
      argv: ['/bin/sh', '-c', 'pwd; echo "$ONLY:${HOME-unset}"'],
      cwd: dir,
      env: { ONLY: 'yes', PATH: '/usr/bin:/bin' },
      timeoutMs: 10_000,
    });
    expect(succeeded(result)).toBe(true);
    expect(result.stdoutTail).toBe(`${dir}\nyes:unset\n`);
  });

  it('on timeout kills the whole process group: the child and the grandchild it spawned', async () => {
    const pidFile = join(dir, 'grandchild.pid');
    // The grandchild ignores SIGTERM (an ignored signal survives exec), so only the SIGKILL after the grace ends it.
    const script = `(trap '' TERM; exec sleep 300) & echo $! > ${pidFile}; echo $$ > ${pidFile}.parent; wait`;
    const result = await runCommand({ argv: script, timeoutMs: 300, killGraceMs: 300 });
    const grandchild = await readPid(pidFile);
    const child = await readPid(`${pidFile}.parent`);
    leftovers.push(grandchild, child);
    expect(result.timedOut).toBe(true);
    expect(result.exitCode).toBeNull();
    expect(await waitDead(child)).toBe(true);
    expect(await waitDead(grandchild)).toBe(true);
  });

  it('keeps only a bounded tail of a large output', async () => {
    const result = await runCommand({
      argv: ['node', '-e', 'process.stdout.write("a".repeat(1_000_000) + "THE-END")'],
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
      timeoutMs: 20_000,
      maxOutputBytes: 1000,
    });
    expect(result.exitCode).toBe(0);
    expect(result.stdoutTail.endsWith('THE-END')).toBe(true);
    const kept = result.stdoutTail.slice(result.stdoutTail.indexOf('\n') + 1);
    expect(Buffer.byteLength(kept)).toBe(1000);
    expect(result.stdoutTail).toMatch(/^\[… 999007 bytes dropped\]\n/);
  });

  it('reports a command that cannot start as spawnError', async () => {
    const result = await runCommand({ argv: [join(dir, 'missing')], timeoutMs: 5000 });
    expect(result.exitCode).toBeNull();
    expect(result.spawnError).toMatch(/ENOENT/);
    expect(succeeded(result)).toBe(false);
  });

  it('returns when the child exits even if a background process it started keeps the pipes open', async () => {
    // The background process writes to the inherited stdout after the command returned, like a service
    // that logs; it must not die of SIGPIPE.
    const result = await runCommand({ argv: '(sleep 0.3; echo late; echo later >&2; sleep 30) & echo $!', timeoutMs: 20_000 });
    const background = Number(result.stdoutTail.trim());
    leftovers.push(background);
    expect(result).toMatchObject({ exitCode: 0, timedOut: false });
    await new Promise((r) => setTimeout(r, 800));
    // A normal exit does not kill what the command started (activation may start a service this way).
    expect(isAlive(background)).toBe(true);
  });

  it('an abort kills the group and is reported as aborted', async () => {
    const controller = new AbortController();
    const pending = runCommand({ argv: 'sleep 300', timeoutMs: 60_000, killGraceMs: 200, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const result = await pending;
    expect(result).toMatchObject({ aborted: true, timedOut: false, exitCode: null, signal: 'SIGTERM' });
  });
});
