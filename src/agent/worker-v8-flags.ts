import { tierUpLater } from '../util/tier-up.js';
import { setV8Flags } from '../util/v8-flags.js';

/**
 * The public built-in modules the worker's own modules (tick-worker.js and all it reaches: the reconcile
 * steps, git, the stores, the S3 client, pino, the Nix fetch) load, most as they are evaluated, some on a
 * tick's first use (the S3 client's HTTP/2 and web streams, the filesystem flush's child_process). Loaded
 * here before any flag is set, each takes ~0.5 ms with Node's code cache against three times that compiled
 * from source (docs/performance.md, session 37). test/agent/daemon.test.ts fails when its tick (a
 * directory store) loads one that is not here.
 */
const WORKER_BUILTINS = [
  'node:assert',
  'node:child_process',
  'node:cluster',
  'node:crypto',
  'node:dgram',
  'node:fs/promises',
  'node:http',
  'node:http2',
  'node:https',
  'node:module',
  'node:net',
  'node:os',
  'node:perf_hooks',
  'node:process',
  'node:readline',
  'node:stream/promises',
  'node:stream/web',
  'node:timers/promises',
  'node:tls',
  'node:worker_threads',
  'node:zlib',
] as const;

/**
 * The tick worker's V8 flags, set at run time as its first step, before its own modules run: its young
 * generation kept at the size it has then, as the CLI's downloading fetch keeps it (cli/young-generation.ts:
 * a fetch streams hundreds of MB through short-lived buffers), and its functions optimised later
 * (util/tier-up.ts: a worker lives for a few ticks). Until session 38 they were on its command line
 * (`--max-semi-space-size=4`), where any V8 flag changes from the start the hash V8 checks code caches
 * against, so every built-in module the worker loaded was compiled from source. Forked by the built agent
 * for a tick that fails at once, 20 rounds each: start to ready 282 → 269 ms (lower in 16), CPU 320 → 300
 * ms, peak RSS 73.1 → 71.2 MB. Set after its modules had run instead, the young generation had grown to
 * 8 MiB first, against 4 MiB here (what compiling its body leaves, from a code cache or not).
 */
export function tuneWorkerV8(): void {
  for (const m of WORKER_BUILTINS) process.getBuiltinModule(m);
  setV8Flags('--semi-space-growth-factor=1');
  tierUpLater();
}
