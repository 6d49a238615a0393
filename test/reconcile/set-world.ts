import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openNixCache } from '../../src/nix/index.js';
import { pino } from 'pino';
import { runCommand, type CommandRunner } from '../../src/activation/run-command.js';
import { loadDeclarations } from '../../src/declarations/index.js';
import type { Declarations } from '../../src/declarations/types.js';
import type { CrashPoints } from '../../src/generations/crash-points.js';
import { findGeneration, readCurrent, readState, setPaths } from '../../src/generations/index.js';
import { pushDirectory } from '../../src/publish/push-directory.js';
import type { SetContext } from '../../src/reconcile/context.js';
import { StagedMemo } from '../../src/reconcile/staged-memo.js';
import { setPlanOf } from '../../src/rollout/set-plan.js';
import { SET_STEPS, type SetRun } from '../../src/reconcile/steps/index.js';
import { systemClock, type Clock } from '../../src/rollout/clock.js';
import { GateMemory } from '../../src/rollout/gate-memory.js';
import { LeaseObserver } from '../../src/rollout/lease-observer.js';
import { DEFAULT_STALE_AFTER_MS } from '../../src/status/readiness.js';
import { AGENT_DEFAULTS } from '../../src/declarations/agent-config-defaults.js';
import type { Digest } from '../../src/store/digest.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { generateKeyPair, parsePublicKey, parseSecretKey } from '../../src/trust/publisher-key.js';
import { makeTempDir } from '../helpers/package-fixtures.js';

/** The machine every reconcile test runs as, and its platform. */
export const MACHINE = 'm1';
export const PLATFORM = 'linux/amd64';
export const SET = 'web';

/**
 * A clock whose sleeps take no time: each moves its monotonic and wall time on at once (a port we own). A
 * machine that looks again while it waits (follow-gate.ts, look-again.ts) then answers without the minute a
 * tick may follow the rollout; `slept` lists the waits it asked for.
 */
export function steppingClock(): Clock & { slept: number[]; advance(ms: number): void } {
  let mono = 1_000_000;
  let wall = Date.now();
  const slept: number[] = [];
  const advance = (ms: number): void => {
    mono += ms;
    wall += ms;
  };
  return {
    slept, advance, monotonicMs: () => mono, now: () => new Date(wall),
    sleep: (ms) => {
      slept.push(ms);
      advance(ms);
      return Promise.resolve();
    },
  };
}

/** What a test may change about the set and the context it runs in. */
export interface ContextOptions {
  closure: Digest;
  /** sets/web.yaml (see setYaml): one machine m1, no batches, an activation and a health check by default. */
  set?: SetYamlOptions;
  /** Extra deploy-repo files (machines/*.yaml, other sets). */
  files?: Record<string, string>;
  machine?: string;
  platform?: string;
  /** The coordination store; null for none (default: none). */
  coordination?: Store | null;
  coordinationSafe?: boolean;
  clock?: Clock;
  crash?: CrashPoints;
  runner?: CommandRunner;
  staged?: StagedMemo;
  commit?: string;
  /** The gate's memory between decisions (default: a fresh one per context). */
  gate?: GateMemory;
  /** The agent's poll interval + jitter (default: the agent default's). */
  pollSpanMs?: number;
  /** Called when the gate distrusts the coordination store (default: nothing). */
  distrustCoordination?: () => Promise<void>;
}

/** A real state dir, a real directory store with signed closures, and SetContexts built with the agent's ports. */
export interface SetWorld {
  root: string;
  stateDir: string;
  store: Store;
  /** Activations append their version here, one line each (real processes write it). */
  activationLog: string;
  /** Pushes the `svc` package at `version`, signed by the trusted publisher; `failHealth` makes health fail. */
  push(version: string, options?: { failHealth?: boolean }): Promise<Digest>;
  context(options: ContextOptions): SetContext;
  /** The versions activated so far, in order. */
  activations(): Promise<string[]>;
  cleanup(): Promise<void>;
}

/** What a test may change in sets/web.yaml. */
export interface SetYamlOptions {
  machines?: string[];
  /** The `rollout:` value as flow YAML (default: `{ batchSize: all }`, no leases). */
  rollout?: string;
  /** The activation command, run by /bin/sh in the generation directory (default: append svc/VERSION to the log). */
  activateCommand?: string;
  /** Drain and undrain commands, run by /bin/sh (default: none). */
  drainCommand?: string;
  undrainCommand?: string;
  /** `suspended: true` in the set's file. */
  suspended?: boolean;
}

/** sets/web.yaml below `closure:`: one machine, no batches, an activation and a command health check. */
export function setYaml(activationLog: string, o: SetYamlOptions = {}): string {
  return [
    `platform: ${PLATFORM}`,
    `machines: [${(o.machines ?? [MACHINE]).join(', ')}]`,
    `rollout: ${o.rollout ?? '{ batchSize: all }'}`,
    ...(o.suspended === undefined ? [] : [`suspended: ${o.suspended}`]),
    'activate:',
    `  command: ${JSON.stringify(o.activateCommand ?? 'cat svc/VERSION >> "$ACT_LOG"')}`,
    `  env: { ACT_LOG: ${JSON.stringify(activationLog)} }`,
    ...(o.drainCommand === undefined ? [] : [`  drain: ${JSON.stringify(o.drainCommand)}`]),
    ...(o.undrainCommand === undefined ? [] : [`  undrain: ${JSON.stringify(o.undrainCommand)}`]),
    '  timeout: 30s',
    'health:',
    '  command: [/bin/sh, -c, "test ! -e svc/FAIL"]',
    '  initialDelay: 0ms',
    '  interval: 10ms',
    '  retries: 0',
    '  timeout: 10s',
    '',
  ].join('\n');
}

function declarations(storeDir: string, publisher: string, closure: Digest, setYaml: string, files: Record<string, string>): Declarations {
  const all: Record<string, string> = {
    'flotilla.yaml': `stores: [${JSON.stringify(storeDir)}]\npublishers:\n  keys: ["${publisher}"]\n`,
    [`sets/${SET}.yaml`]: `closure: ${closure}\n${setYaml}`,
    ...files,
  };
  const r = loadDeclarations(new Map(Object.entries(all)));
  if (!r.ok) throw new Error(`test declarations are invalid: ${JSON.stringify(r.errors)}`);
  return r.value;
}

/** Creates the world in a fresh temp dir; `cleanup` removes it (read-only packages included). */
export async function createSetWorld(): Promise<SetWorld> {
  const { dir: root, cleanup } = await makeTempDir('flotilla-reconcile-');
  const stateDir = join(root, 'state');
  const storeDir = join(root, 'store');
  await mkdir(stateDir);
  await mkdir(storeDir);
  const store = openStore(storeDir);
  const keys = generateKeyPair('ci-1');
  const activationLog = join(root, 'activations.log');
  let pushes = 0;
  return {
    root, stateDir, store, activationLog,
    async push(version, options = {}) {
      const src = join(root, 'src', `svc-${version}-${++pushes}`);
      await mkdir(src, { recursive: true });
      await writeFile(join(src, 'VERSION'), `${version}\n`);
      if (options.failHealth) await writeFile(join(src, 'FAIL'), 'health fails\n');
      return (await pushDirectory(store, src, { name: 'svc', signKeys: [parseSecretKey(keys.secret)] })).digest;
    },
    context(o) {
      const machine = o.machine ?? MACHINE;
      const decls = declarations(storeDir, keys.public, o.closure, setYaml(activationLog, o.set), o.files ?? {});
      const set = decls.sets.get(SET);
      if (set === undefined) throw new Error('set web is missing');
      return {
        machine: { name: machine, labels: {}, platform: o.platform ?? PLATFORM },
        stateDir, set, decls,
        commit: o.commit ?? 'c0ffee'.padEnd(40, '0'),
        signer: 'release',
        stores: [store],
        nix: { caches: [], open: (url) => openNixCache(url), root, register: 'never' },
        coordination: o.coordination ?? null,
        coordinationSafe: o.coordinationSafe ?? o.coordination != null,
        distrustCoordination: o.distrustCoordination ?? (() => Promise.resolve()),
        policy: { trusted: [parsePublicKey(keys.public)], threshold: 1 },
        ports: {
          log: pino({ level: 'silent' }),
          clock: o.clock ?? systemClock,
          runner: o.runner ?? runCommand,
          observer: new LeaseObserver(),
          gate: o.gate ?? new GateMemory(),
          signal: new AbortController().signal,
          ...(o.crash ? { crash: o.crash } : {}),
          staleAfterMs: DEFAULT_STALE_AFTER_MS,
          statusHeartbeatMs: AGENT_DEFAULTS.statusHeartbeatMs,
          pollSpanMs: o.pollSpanMs ?? AGENT_DEFAULTS.pollIntervalMs,
          holder: `${machine}-test-${randomBytes(4).toString('hex')}`,
          agentVersion: 'test',
        },
        timings: [],
        fetched: { bytes: 0 },
        staged: o.staged ?? new StagedMemo(),
      };
    },
    async activations() {
      const text = await readFile(activationLog, 'utf8').catch(() => '');
      return text.split('\n').filter((l) => l !== '');
    },
    async cleanup() {
      await store.close();
      await cleanup();
    },
  };
}

/** The machines of the plan's batch `k` for `closure` (plans are deterministic per set and digest). */
export function machinesOfBatch(world: SetWorld, closure: Digest, set: SetYamlOptions, k: number, files: Record<string, string> = {}): string[] {
  const ctx = world.context({ closure, set, files, machine: set.machines?.[0] ?? MACHINE });
  return setPlanOf(ctx.decls, ctx.set, ctx.machine.name).batches[k] ?? [];
}

/** The run convergeSet starts its steps with (plan, current generation, state), read the same way. */
export async function openRun(ctx: SetContext): Promise<SetRun> {
  const paths = setPaths(ctx.stateDir, ctx.set.name);
  const cur = await readCurrent(paths.current);
  return {
    ctx,
    plan: setPlanOf(ctx.decls, ctx.set, ctx.machine.name),
    current: cur === undefined ? undefined : await findGeneration(paths, cur.number),
    state: await readState(paths.stateFile),
  };
}

/** Runs the default steps before `step` for real and returns the run `step` would get; throws if one stops. */
export async function runUntil(ctx: SetContext, step: string): Promise<SetRun> {
  let run = await openRun(ctx);
  for (const s of SET_STEPS) {
    if (s.name === step) return run;
    const r = await s.run(run);
    if ('stop' in r) throw new Error(`step ${s.name} stopped before ${step}: ${r.stop.reason}: ${r.stop.message}`);
    run = r.next;
  }
  throw new Error(`no step named ${step}`);
}
