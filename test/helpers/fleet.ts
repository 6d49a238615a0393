import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { openStore } from '../../src/store/open-store.js';
import { readSetStatuses } from '../../src/status/status-io.js';
import { isParseProblem } from '../../src/status/machine-status.js';
import { readQuarantine } from '../../src/rollout/quarantine.js';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { CLI, runCli, type DeployWorld } from './deploy-world.js';
import type { Digest } from '../../src/store/digest.js';

/**
 * A package whose activation takes a moment and whose health check passes or fails as built; with a
 * `brokenWhile` path, it fails only while that file exists (an outside dependency that can be fixed).
 */
export async function pushFleetPackage(world: DeployWorld, version: string, healthy: boolean, brokenWhile?: string): Promise<Digest> {
  const dir = join(world.root, 'src', `fleet-${version}`);
  await mkdir(join(dir, 'bin'), { recursive: true });
  await writeFile(join(dir, 'VERSION'), `${version}\n`);
  await writeFile(join(dir, 'bin', 'activate'), '#!/bin/sh\nsleep 0.2\n');
  const health = brokenWhile === undefined ? `exit ${healthy ? 0 : 1}` : `test ! -e '${brokenWhile}'`;
  await writeFile(join(dir, 'bin', 'health'), `#!/bin/sh\n${health}\n`);
  await chmod(join(dir, 'bin', 'activate'), 0o755);
  await chmod(join(dir, 'bin', 'health'), 0o755);
  const r = await runCli(['push', dir, '--store', world.storeUrl, '--name', 'app', '--sign-key', world.publisherKeyFile]);
  if (r.code !== 0) throw new Error(`push failed: ${r.stderr}`);
  return r.stdout.trim() as Digest;
}

/** sets/NAME.yaml for a fleet set of `machines`, canary 1 then batches of `batch`. */
export function fleetSetYaml(closure: string, platform: string, machines: string[], batch: number): string {
  return `closure: ${closure}
platform: ${platform}
machines: [${machines.join(', ')}]
rollout:
  canary: 1
  batchSize: ${batch}
  leaseTtl: 30s
activate:
  command: [app/bin/activate]
  timeout: 20s
health:
  command: [app/bin/health]
  initialDelay: 300ms
  interval: 100ms
  retries: 0
  timeout: 5s
`;
}

/** Machine names m01..mNN. */
export function machineNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `m${String(i + 1).padStart(2, '0')}`);
}

/** N agent daemons as real processes, each logging JSON lines to its own file. */
export interface Fleet {
  stop(): Promise<void>;
  logFile(machine: string): string;
}

/**
 * Starts one `flotilla agent` process per machine, polling every second (unless `extra` config says
 * otherwise; a function gives each machine its own, e.g. its own Nix root).
 */
export async function startFleet(world: DeployWorld, machines: string[], extra?: Record<string, unknown> | ((machine: string) => Record<string, unknown>)): Promise<Fleet> {
  const children: ChildProcess[] = [];
  const logs = join(world.root, 'logs');
  await mkdir(logs, { recursive: true });
  for (const m of machines) {
    const config = await world.agentConfig(m, typeof extra === 'function' ? extra(m) : extra);
    const out = createWriteStream(join(logs, `${m}.log`));
    const child = spawn(process.execPath, [CLI, 'agent', '--config', config], {
      env: { ...process.env, FLOTILLA_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.pipe(out);
    children.push(child);
  }
  return {
    logFile: (m) => join(logs, `${m}.log`),
    async stop() {
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((done) => {
              if (c.exitCode !== null || c.signalCode !== null) return done();
              c.once('exit', () => done());
              c.kill('SIGTERM');
              setTimeout(() => c.kill('SIGKILL'), 15_000).unref();
            }),
        ),
      );
    },
  };
}

/** One step line of an agent's pino log. */
export interface StepLine {
  time: number;
  step: string;
  set?: string;
  digest?: string;
  ms: number;
  msg: string;
}

/** The step lines (`step X done` / `step X failed`) from a machine's log. */
export async function readSteps(file: string): Promise<StepLine[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Partial<StepLine>)
    .filter((l): l is StepLine => typeof l.step === 'string' && typeof l.time === 'number' && typeof l.ms === 'number');
}

/** Reads every machine's status report of `set` from the store (any backend). */
export async function readStatuses(storeUrl: string, set: string): Promise<Map<string, { currentDigest: string | null; state: string }>> {
  const store = openStore(storeUrl);
  try {
    const out = new Map<string, { currentDigest: string | null; state: string }>();
    for (const [m, s] of await readSetStatuses(store, set)) if (!isParseProblem(s)) out.set(m, s);
    return out;
  } finally {
    await store.close();
  }
}

/** True when `digest` is quarantined for `set` in the store. */
export async function isQuarantined(storeUrl: string, set: string, digest: Digest): Promise<boolean> {
  const store = openStore(storeUrl);
  try {
    return (await readQuarantine(store, set, digest)) !== null;
  } finally {
    await store.close();
  }
}

/** Polls until `check` is true or `timeoutMs` passes; returns whether it became true. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, everyMs = 250): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return check();
}

/**
 * The most intervals open at one instant (an interval's end comes before another's start at the same
 * millisecond): how many machines were between "switch" and "Ready" at once, computed after the fact.
 */
export function maxOverlap(intervals: ReadonlyArray<{ start: number; end: number }>): number {
  const events = intervals.flatMap((i) => [[i.start, 1] as const, [i.end, -1] as const]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let max = 0;
  for (const [, d] of events) max = Math.max(max, (cur += d));
  return max;
}
