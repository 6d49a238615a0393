import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// The demo as a newcomer runs it (`npm run demo` after the build), in fast mode, as a real process.
const DEMO = resolve('dist/scripts/demo.js');

interface Report {
  ok: boolean;
  error?: string;
  root: string;
  seconds: number;
  agentPids: number[];
  servicePids: number[];
  outcome?: {
    converged: Record<string, string>;
    rolledBack: { canary: string; quarantinedBy: string[]; othersOnV1: boolean };
    reverted: Record<string, string>;
  };
}

function runDemo(reportFile: string): Promise<{ code: number; stdout: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [DEMO, '--fast', '--report', reportFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stdout += c.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? -1, stdout }));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Pids of every process whose command line mentions `root` (agents, services, anything the demo left). */
function processesUnder(root: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(root);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('npm run demo (fast mode, a real process)', () => {
  let scratch = '';
  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('converges, rolls back the broken canary, quarantines, reverts, and leaves nothing running', { timeout: 300_000 }, async () => {
    expect(existsSync(DEMO), 'run `npm run build` first').toBe(true);
    scratch = await mkdtemp(join(tmpdir(), 'flotilla-demo-test-'));
    const reportFile = join(scratch, 'report.json');
    const run = await runDemo(reportFile);
    const report = JSON.parse(await readFile(reportFile, 'utf8')) as Report;
    expect(report.error, run.stdout.slice(-4000)).toBeUndefined();
    expect(run.code).toBe(0);
    expect(report.ok).toBe(true);

    const machines = ['web-1', 'web-2', 'web-3'];
    // Converged: every machine's own service answered v1.
    expect(report.outcome?.converged).toEqual(Object.fromEntries(machines.map((m) => [m, `web v1 on ${m}`])));
    // Rolled back: exactly one canary tried v2, quarantined it, and the others never left v1.
    const rolledBack = report.outcome?.rolledBack;
    expect(machines).toContain(rolledBack?.canary);
    expect(rolledBack?.quarantinedBy).toEqual([rolledBack?.canary]);
    expect(rolledBack?.othersOnV1).toBe(true);
    // Reverted: everyone serves v1 again.
    expect(report.outcome?.reverted).toEqual(Object.fromEntries(machines.map((m) => [m, `web v1 on ${m}`])));

    // The narration shows the real commands and the fleet's own view of each stage.
    for (const line of ['$ flotilla push src/web-v1', '$ flotilla init deploy --signing-key', '$ flotilla plan main web-v1', '$ flotilla bump web', '$ flotilla revert web', '$ flotilla status --repo deploy --store store', 'quarantined sha256:', 'converged']) {
      expect(run.stdout).toContain(line);
    }

    // Nothing left running, nothing left on disk: three agents and at least four service instances
    // (v1 on each machine, v2 then v1 again on the canary) were started and all are gone.
    expect(report.agentPids).toHaveLength(3);
    expect(report.servicePids.length).toBeGreaterThanOrEqual(5);
    for (const pid of [...report.agentPids, ...report.servicePids]) expect(alive(pid), `pid ${pid} still runs`).toBe(false);
    expect(processesUnder(report.root)).toEqual([]);
    expect(existsSync(report.root)).toBe(false);
  });
});
