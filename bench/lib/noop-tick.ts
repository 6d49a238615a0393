// Phase (a) and (b) of `bench agent`: an in-process agent's no-op tick beside the refs-only floor and the
// git CLI peer, and the switch primitive beside a bare symlink+rename(2).
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { pino } from 'pino';
import { createAgent } from '../../src/agent/run-agent.js';
import { loadAgentConfig, formatIssue } from '../../src/declarations/index.js';
import { commitSwitch, packageDirName, stageGeneration, switchGeneration } from '../../src/generations/index.js';
import { digestFromHex, type Digest } from '../../src/store/digest.js';
import { fsyncDir } from '../../src/util/atomic-write.js';
import { isolatedEnv } from './world.js';

/** Per-tick figures of an in-process agent's no-op ticks. */
export interface NoopTicks {
  total: number[];
  /** Step name → durations (ms), from the tick reports. */
  steps: Map<string, number[]>;
  storeRequests: number[];
}

/** Times `n` calls of `fn`, in ms. */
export async function timeMs(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}

/**
 * Builds an agent in this process from `configFile` (pino silent), runs one converging tick (which must
 * converge: the world's set names this machine), `warm` untimed no-op ticks, then `n` timed ones.
 * Throws when the first tick does not converge or a later one is not a no-op.
 */
export async function measureNoopTicks(configFile: string, n: number, warm = 3): Promise<NoopTicks> {
  const loaded = await loadAgentConfig(configFile);
  if (!loaded.ok) throw new Error(`bench agent config: ${loaded.errors.map(formatIssue).join('; ')}`);
  const agent = await createAgent({ config: loaded.value, log: pino({ level: 'silent' }), signal: new AbortController().signal });
  try {
    const first = await agent.tick();
    if (first.exitCode !== 0 || !first.outcomes.some((o) => o.result === 'converged')) {
      throw new Error(`bench: first tick did not converge: ${JSON.stringify(first.outcomes)} ${JSON.stringify(first.error ?? null)}`);
    }
    const out: NoopTicks = { total: [], steps: new Map(), storeRequests: [] };
    for (let i = 0; i < warm + n; i++) {
      const t0 = performance.now();
      const r = await agent.tick();
      const ms = performance.now() - t0;
      if (r.exitCode !== 0 || r.outcomes.some((o) => o.result !== 'unchanged')) throw new Error(`bench: tick ${i} was not a no-op: ${JSON.stringify(r.outcomes)}`);
      if (i < warm) continue;
      out.total.push(ms);
      out.storeRequests.push(r.storeRequests);
      for (const t of r.timings) out.steps.set(t.step, [...(out.steps.get(t.step) ?? []), t.ms]);
    }
    return out;
  } finally {
    await agent.close();
  }
}

/** The HTTP floor and peer of a no-op poll: isomorphic-git listServerRefs alone and `git ls-remote`, `n` each, interleaved. */
export async function measureRefFloors(url: string, n: number, home: string): Promise<{ listServerRefs: number[]; lsRemote: number[] }> {
  const env = isolatedEnv({ HOME: home, XDG_CONFIG_HOME: home });
  const lsRemote = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const c = spawn('git', ['-c', 'protocol.version=2', 'ls-remote', url, 'refs/heads/main'], { env, stdio: 'ignore' });
      c.on('error', reject);
      c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`git ls-remote exited ${code}`))));
    });
  const refs = (): Promise<unknown> => git.listServerRefs({ http, url, protocolVersion: 2, prefix: 'refs/heads/main' });
  await refs();
  await lsRemote();
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < n; i++) {
    a.push(...(await timeMs(1, refs)));
    b.push(...(await timeMs(1, lsRemote)));
  }
  return { listServerRefs: a, lsRemote: b };
}

const digestOf = (s: string): Digest => digestFromHex(createHash('sha256').update(s).digest('hex'));

/** The switch primitive: switchGeneration and commitSwitch between two staged generations, and bare symlink+rename(2) (± fsync of the dir). */
export async function measureSwitch(n: number): Promise<{ switchMs: number[]; commitMs: number[]; bare: number[]; bareFsync: number[] }> {
  const stateDir = await mkdtemp(join(tmpdir(), 'flotilla-bench-agent-switch-'));
  try {
    const gens: number[] = [];
    for (const v of ['v1', 'v2']) {
      const digest = digestOf(`app:${v}`);
      const path = join(stateDir, 'store', packageDirName(digest, 'app'));
      await mkdir(path, { recursive: true });
      await writeFile(join(path, 'VERSION'), v);
      gens.push((await stageGeneration({ stateDir, set: 'web', digest: digestOf(v), packages: [{ digest, name: 'app', path }], origin: {} })).generation.number);
    }
    const switchMs: number[] = [];
    const commitMs: number[] = [];
    for (let i = 0; i < n; i++) {
      switchMs.push(...(await timeMs(1, () => switchGeneration(stateDir, 'web', gens[i % 2] ?? 1))));
      commitMs.push(...(await timeMs(1, () => commitSwitch(stateDir, 'web'))));
    }
    const dir = join(stateDir, 'bare');
    await mkdir(dir);
    const link = join(dir, 'current');
    await symlink('a', link);
    const swap = async (i: number, sync: boolean): Promise<void> => {
      const tmp = join(dir, `.tmp-${sync ? 's' : ''}${i}`);
      await symlink(i % 2 ? 'a' : 'b', tmp);
      await rename(tmp, link);
      if (sync) await fsyncDir(dir);
    };
    const bare = await timeMs(n, (i) => swap(i, false));
    const bareFsync = await timeMs(n, (i) => swap(i, true));
    return { switchMs, commitMs, bare, bareFsync };
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
}
