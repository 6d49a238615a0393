// `npm run bench -- nix [--reps N] [--mb TOTAL | --paths N] [--compressions none,zstd,xz] [--before CLI] [--json]`: materialising a Nix closure from a binary cache
// (cold, one lib changed, no-op) beside real `nix copy --from <cache> --to <fresh chroot store>` on the same
// cache in the same run, for uncompressed, zstd and xz caches. Each run is a fresh process, timed from
// outside (start to exit) and then with a timed `sync` after it, so both are compared at the same durability;
// Flotilla is the bin as users run it (`flotilla fetch STOREPATH --root DIR`); peak RSS from GNU time (%M).
// `--before CLI` adds another build's bin (e.g. the main checkout's dist/bin/flotilla.js) to every round, so
// a change is measured against the code before it under the same load. Each round also times a bare
// `node -e 0`, printed as a ratio to that round's `nix copy`: the floor under which no fresh Node process goes.
// For uncompressed and zstd caches each round also runs a bare Node process that only copies (or has
// `zstd -d` write) the NAR files a cold and a one-changed fetch need (lib/bare-nar-copy.ts), timed with its
// `sync` like the tools: the floor of any fetch of ours that writes those bytes from a fresh process.
// For uncompressed and zstd caches each round also runs a bare Node process that does the least a correct
// fetch does with those NARs, as `nix copy` does it (lib/bare-nar-unpack.ts: one thread, every byte hashed
// against its NarHash, the tree written; from zstd, the system's `zstd` decompressing and `openssl` checking
// the FileHash beside it, as the fetch does), with its `sync`: how close a fresh Node process gets to `nix copy`
// itself; and the same process with its large files written on libuv's pool (`--pool-writes`): that work on both cores.
// Each round also runs each fetch as the first request to a process that has started and loaded the fetch
// code (lib/warm-fetcher.ts, the fetch bundle's runCli with the agent's tick-worker flags): a fetch in the
// tick worker an agent forks for its tick, without the start and module loading a one-shot process pays;
// and once more in one process kept for every round, warmed by a fetch before them: the fetch's own work.
// `--paths N` replaces the three large paths by N - 1 small ones (a few KiB to ~30 KiB each, three small
// files) and the app: the shape of a real system's closure, where per-path costs count, not bytes.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { systemDecompressor } from '../src/nix/index.js';
import { buildNixClosure, nixEnv, publishNixCache, type NixClosureFixture, type NixCompressionName, type NixLibSpec } from '../scripts/world/nix-closure.js';
import { narFloorArgs, narUnpackFloorArgs } from './lib/nar-floor-plan.js';
import { CLI } from './lib/procs.js';
import { floorEnv } from './lib/timed-process.js';
import { startWarmFetcher, type WarmFetcher } from './lib/warm-fetch-client.js';
import { fileCreatesPerMs } from './lib/create-rate.js';
import { freshPageCacheGBps as timeFreshPages } from './lib/fresh-pages.js';
import { median, printTable, spread } from './lib/stats.js';

/** What `npm run bench -- nix --help` prints: the synopsis, then what it measures. */
export const usage = "npm run bench -- nix [--reps N] [--mb TOTAL | --paths N] [--compressions none,zstd,xz] [--before CLI] [--json]\nMaterialising a Nix closure from a binary cache (cold, one path changed, no-op) beside real `nix copy --from <cache> --to <fresh chroot store>`: three large paths of TOTAL MB (default 150), or N small paths.";

const exec = promisify(execFile);
const BARE_NAR_COPY = fileURLToPath(new URL('./lib/bare-nar-copy.js', import.meta.url));
const BARE_NAR_UNPACK = fileURLToPath(new URL('./lib/bare-nar-unpack.js', import.meta.url));
const round2 = (x: number): number => Math.round(x * 100) / 100;

interface RunResult {
  /** Wall time of the whole process, start to exit, measured by the parent (Nix's and ours alike). */
  seconds: number;
  /** A `sync` right after the process exited: what it left unwritten (Flotilla flushes before it renames, `nix copy` does not). */
  syncSeconds?: number;
  maxRssMb: number;
  narBytes?: number;
}

/** Peak RSS from GNU time's `MAXRSS %M` line (kB). */
function maxRssOf(stderr: string): number {
  return Number(/MAXRSS (\d+)/.exec(stderr)?.[1] ?? 0) / 1024;
}

/** `flotilla fetch STOREPATH` as users run it: the bin (its shebang's flags included), in a fresh process. */
async function flotilla(url: string, top: string, pub: string, root: string, cli = CLI): Promise<RunResult> {
  const t0 = performance.now();
  const { stdout, stderr } = await exec(
    '/usr/bin/time',
    ['-f', 'MAXRSS %M', cli, 'fetch', top, '--store', url, '--trust', pub, '--root', root, '--register', 'never', '--json'],
    { maxBuffer: 1 << 24 },
  );
  const seconds = (performance.now() - t0) / 1000;
  const data = (JSON.parse(stdout) as { data?: { narBytes?: number } }).data;
  return { seconds, maxRssMb: maxRssOf(stderr), narBytes: data?.narBytes ?? 0 };
}

/**
 * The same fetch as the first one of a process that has started and loaded the fetch code (lib/warm-fetcher.ts,
 * with the agent's tick-worker flags), timed from the request: a fetch in an agent's tick worker, which the
 * supervisor forks for a tick (and keeps only `keepWarm`, 20 s, after it), so the fetch's code is cold
 * (compiled from a code cache, as the worker's body is, but never run in that process), without the
 * process's start and module loading.
 */
async function workerFetch(url: string, top: string, pub: string, root: string): Promise<RunResult> {
  const worker = startWarmFetcher();
  try {
    await worker.ready;
    return await fetchIn(worker, url, top, pub, root);
  } finally {
    await worker.close();
  }
}

/** `flotilla fetch` of `top` asked of `fetcher` (lib/warm-fetcher.ts), timed from the request. */
async function fetchIn(fetcher: WarmFetcher, url: string, top: string, pub: string, root: string): Promise<RunResult> {
  const r = await fetcher.fetch([top, '--store', url, '--trust', pub, '--root', root, '--register', 'never', '--json']);
  const data = (JSON.parse(r.stdout) as { data?: { narBytes?: number } }).data;
  return { seconds: r.seconds, maxRssMb: 0, narBytes: data?.narBytes ?? 0 };
}

async function nixCopy(cacheDir: string, top: string, pub: string, root: string, home: string): Promise<RunResult> {
  const t0 = performance.now();
  const { stderr } = await exec(
    '/usr/bin/time',
    ['-f', 'MAXRSS %M', 'nix', 'copy', '--from', `file://${cacheDir}`, '--to', root, '--option', 'trusted-public-keys', pub, top],
    { env: { ...process.env, ...nixEnv(home) }, maxBuffer: 1 << 24 },
  );
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, maxRssMb: maxRssOf(stderr) };
}

/**
 * A bare `node -e 0` (the Node that runs the bin, its environment as the bin leaves it: floorEnv): the start
 * every fresh process of ours pays before any of its work, measured in the same round as its floor; Nix's
 * C++ binary has none.
 */
async function nodeStart(): Promise<RunResult> {
  const t0 = performance.now();
  const { stderr } = await exec('/usr/bin/time', ['-f', 'MAXRSS %M', process.execPath, '-e', '0'], { env: floorEnv() });
  return { seconds: (performance.now() - t0) / 1000, maxRssMb: maxRssOf(stderr) };
}

/** A floor process (lib/bare-nar-copy.ts or lib/bare-nar-unpack.ts, `script`) run on `nars` into `dest`. */
async function bareFloor(script: string, nars: readonly string[], dest: string, flags: readonly string[] = []): Promise<RunResult> {
  const t0 = performance.now();
  const { stderr } = await exec('/usr/bin/time', ['-f', 'MAXRSS %M', process.execPath, script, ...flags, dest, ...nars], { env: floorEnv() });
  return { seconds: (performance.now() - t0) / 1000, maxRssMb: maxRssOf(stderr) };
}

/** Times a `sync` after `run`: the two are compared at the same durability (the fetch bench's "wall + sync"). */
async function thenSync(run: Promise<RunResult>): Promise<RunResult> {
  const r = await run;
  const t0 = performance.now();
  await exec('sync', []);
  return { ...r, syncSeconds: (performance.now() - t0) / 1000 };
}

interface Dataset {
  v1: NixClosureFixture;
  v2: NixClosureFixture;
  narBytes: number;
}

/** The libs of the closure: three of `totalMb` / 3 with 300 small files each, or with `paths`, that many small ones (with the app). */
function libSpecs(totalMb: number, paths: number | undefined): NixLibSpec[] {
  if (paths !== undefined) return Array.from({ length: paths - 1 }, (_, i) => ({ name: `bench-p${String(i).padStart(4, '0')}`, blobBytes: 2_000 + ((i * 7_919) % 28_000), files: 3 }));
  const per = Math.floor((totalMb * 1e6) / 3);
  return ['runtime', 'libs', 'data'].map((name) => ({ name: `bench-${name}`, blobBytes: per, files: 300 }));
}

async function buildDataset(dir: string, totalMb: number, paths?: number): Promise<Dataset> {
  const libs = libSpecs(totalMb, paths);
  const salt = `${Date.now()}`;
  const v1 = await buildNixClosure(dir, libs, salt);
  // "One path changed": the last lib is rebuilt (new bytes), so it and the app that refers to it are new.
  const v2 = await buildNixClosure(dir, libs.map((l, i) => (i === libs.length - 1 ? { ...l, marker: 'v2' } : l)), salt, v1);
  const { stdout } = await exec('nix', ['path-info', '-S', v1.top], { env: { ...process.env, ...nixEnv(dir) } });
  return { v1, v2, narBytes: Number(stdout.trim().split(/\s+/).pop()) };
}

/** `npm run bench -- nix [--reps N] [--mb TOTAL | --paths N] [--compressions none,zstd,xz] [--before CLI] [--json]`. */
export async function run(args: string[]): Promise<void> {
  const reps = Number(args[args.indexOf('--reps') + 1] ?? 3) || 3;
  const totalMb = Number(args[args.indexOf('--mb') + 1] ?? 150) || 150;
  const paths = args.includes('--paths') ? Number(args[args.indexOf('--paths') + 1]) : undefined;
  if (paths !== undefined && !(Number.isInteger(paths) && paths >= 2)) throw new Error(`--paths wants a whole number of at least 2 (the app and one lib), not ${args[args.indexOf('--paths') + 1] ?? 'nothing'}`);
  const json = args.includes('--json');
  const before = args.includes('--before') ? args[args.indexOf('--before') + 1] : undefined;
  const who3 = before === undefined ? (['worker', 'warm'] as const) : (['worker', 'warm', 'before'] as const);
  const at = args.indexOf('--compressions');
  const COMPRESSIONS = (at >= 0 ? (args[at + 1] ?? '') : 'none,zstd,xz').split(',') as NixCompressionName[];
  const root = await mkdtemp(join(tmpdir(), 'flotilla-bench-nix-'));
  // One process for every round's `warm` fetches: its code compiled and optimised by the fetches before.
  let warm: WarmFetcher | undefined;
  const log = (s: string): void => void (json ? process.stderr : process.stdout).write(s);
  try {
    const t0 = performance.now();
    const ds = await buildDataset(root, totalMb, paths);
    log(`built in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
    const caches = new Map<NixCompressionName, string>();
    for (const c of COMPRESSIONS) {
      const dir = join(root, `cache-${c}`);
      await publishNixCache(ds.v1, dir, c);
      await publishNixCache(ds.v2, dir, c);
      caches.set(c, dir);
    }
    const decompressors = Object.fromEntries((['zstd', 'xz'] as const).map((c) => [c, systemDecompressor(c)?.file ?? 'npm library (no system tool)']));
    log(`decompressing zstd with ${decompressors.zstd}, xz with ${decompressors.xz}\n`);
    log(`closure: ${ds.v1.paths.length} paths, ${(ds.narBytes / 1e6).toFixed(1)} MB of NAR; v2 changes ${ds.v1.libs.at(-1)?.slice(44)} and the app; built and published (${COMPRESSIONS.join(', ')}) in ${((performance.now() - t0) / 1000).toFixed(0)} s; ${reps} reps, order alternating\n`);
    const results: Record<string, Record<string, RunResult[]>> = {};
    const hostBefore = await timeFreshPages(root);
    const createsBefore = fileCreatesPerMs(root);
    warm = startWarmFetcher();
    const unpackFifo = join(root, 'unpack-floor.fifo');
    if (COMPRESSIONS.includes('zstd')) await exec('mkfifo', [unpackFifo]);
    for (const c of COMPRESSIONS) {
      const cache = caches.get(c) ?? '';
      const m: Record<string, RunResult[]> = {};
      const v1Paths = new Set(ds.v1.paths);
      const floorNars = c === 'none' || c === 'zstd'
        ? { cold: await narFloorArgs(cache, ds.v1.paths), 'one changed': await narFloorArgs(cache, ds.v2.paths.filter((p) => !v1Paths.has(p))) }
        : undefined;
      const unpackNars = c === 'none' || c === 'zstd'
        ? { cold: await narUnpackFloorArgs(cache, ds.v1.paths), 'one changed': await narUnpackFloorArgs(cache, ds.v2.paths.filter((p) => !v1Paths.has(p))) }
        : undefined;
      const add = (k: string, r: RunResult): void => void (m[k] ??= []).push(r);
      // Its first fetch from this cache, before the rounds and not counted: the rounds' are warm.
      await fetchIn(warm, `nix+file://${cache}`, ds.v1.top, ds.v1.publicKey, join(root, `warm-up-${c}`));
      for (let i = 0; i < reps; i++) {
        const order = i % 2 === 0 ? (['flotilla', 'nix', ...who3] as const) : ([...who3, 'nix', 'flotilla'] as const);
        for (const who of order) {
          const dest = join(root, `${who}-${c}-${i}`);
          const go = async (top: string): Promise<RunResult> => {
            await exec('sync', []);
            if (who === 'worker') return thenSync(workerFetch(`nix+file://${cache}`, top, ds.v1.publicKey, dest));
            if (who === 'warm') return thenSync(fetchIn(warm as WarmFetcher, `nix+file://${cache}`, top, ds.v1.publicKey, dest));
            return thenSync(who === 'nix'
              ? nixCopy(cache, top, ds.v1.publicKey, dest, join(root, `home-${who}-${c}-${i}`))
              : flotilla(`nix+file://${cache}`, top, ds.v1.publicKey, dest, who === 'before' ? before : CLI));
          };
          add(`${who} cold`, await go(ds.v1.top));
          add(`${who} one changed`, await go(ds.v2.top));
          add(`${who} no-op`, await go(ds.v2.top));
          // Not removed until the end (with `root`): ext4 without a journal, as here, steps over every inode
          // freed in the last minutes on each create (recently_deleted), so removing a 900-file tree just
          // before the next tool's cold run charged that tool for it, by chance of placement (docs/nix.md).
        }
        add('node start', await nodeStart());
        for (const [phase, nars] of Object.entries(floorNars ?? {})) {
          await exec('sync', []);
          add(`floor ${phase}`, await thenSync(bareFloor(BARE_NAR_COPY, nars, join(root, `floor-${c}-${i}-${phase.replace(' ', '-')}`))));
        }
        // From zstd the floor reads `zstd -dcq`'s output through a FIFO made here, before it is timed.
        const fifo = c === 'zstd' ? ['--fifo', unpackFifo] : [];
        for (const [phase, nars] of Object.entries(unpackNars ?? {})) {
          await exec('sync', []);
          add(`unpack floor ${phase}`, await thenSync(bareFloor(BARE_NAR_UNPACK, nars, join(root, `unpack-${c}-${i}-${phase.replace(' ', '-')}`), fifo)));
          await exec('sync', []);
          add(`pool unpack floor ${phase}`, await thenSync(bareFloor(BARE_NAR_UNPACK, nars, join(root, `unpack2-${c}-${i}-${phase.replace(' ', '-')}`), ['--pool-writes', ...fifo])));
        }
      }
      results[c] = m;
    }
    // How fast the host filled new page-cache pages before and after the rounds (lib/fresh-pages.ts).
    const freshPageCacheGBps = { before: hostBefore, after: await timeFreshPages(root) };
    // And how fast it created small files (lib/create-rate.ts): slow for minutes after mass deletes.
    const fileCreatesPerMsHost = { before: createsBefore, after: fileCreatesPerMs(root) };
    const withSync = (r: RunResult): number => r.seconds + (r.syncSeconds ?? 0);
    const paired = (f: RunResult[], n: RunResult[], of: (r: RunResult) => number): number[] => f.map((r, i) => of(r) / of(n[i] ?? r));
    const ratios: Record<string, Record<string, { wall: number; wallPlusSync: number; beforeWallPlusSync?: number; nodeStartFloor: number; bareCopyFloor?: number; bareUnpackFloor?: number; bareUnpackPoolFloor?: number; workerWallPlusSync: number; warmWallPlusSync: number }>> = {};
    const rows: Array<Array<string | number>> = [];
    for (const c of COMPRESSIONS) {
      const m = results[c] ?? {};
      for (const phase of ['cold', 'one changed', 'no-op']) {
        const f = m[`flotilla ${phase}`] ?? [];
        const n = m[`nix ${phase}`] ?? [];
        const b = m[`before ${phase}`] ?? [];
        const w = m[`worker ${phase}`] ?? [];
        const hot = m[`warm ${phase}`] ?? [];
        const start = m['node start'] ?? [];
        // What Node's start alone reaches against Nix's whole run in the same round: no fetch of ours can be under it.
        const floor = paired(start, n, (r) => r.seconds);
        // What a process copying only the NARs reaches, with its sync, against Nix's copy with its sync.
        const copy = m[`floor ${phase}`];
        const copyFloor = copy === undefined ? undefined : paired(copy, n, withSync);
        // What a process doing only the NAR work `nix copy` does (hash, parse, tree), with its sync, against Nix's.
        const unpack = m[`unpack floor ${phase}`];
        const unpackFloor = unpack === undefined ? undefined : paired(unpack, n, withSync);
        // The same, its large files written on libuv's pool while its thread hashes and parses on: both cores.
        const pool = m[`pool unpack floor ${phase}`];
        const poolFloor = pool === undefined ? undefined : paired(pool, n, withSync);
        (ratios[c] ??= {})[phase] = {
          wall: round2(median(paired(f, n, (r) => r.seconds))),
          wallPlusSync: round2(median(paired(f, n, withSync))),
          nodeStartFloor: round2(median(floor)),
          workerWallPlusSync: round2(median(paired(w, n, withSync))),
          warmWallPlusSync: round2(median(paired(hot, n, withSync))),
          ...(copyFloor === undefined ? {} : { bareCopyFloor: round2(median(copyFloor)) }),
          ...(unpackFloor === undefined ? {} : { bareUnpackFloor: round2(median(unpackFloor)) }),
          ...(poolFloor === undefined ? {} : { bareUnpackPoolFloor: round2(median(poolFloor)) }),
          ...(before === undefined ? {} : { beforeWallPlusSync: round2(median(paired(b, n, withSync))) }),
        };
        rows.push([
          c, phase, spread(f.map((r) => r.seconds)), spread(n.map((r) => r.seconds)), spread(paired(f, n, (r) => r.seconds), 2),
          spread(f.map(withSync)), spread(n.map(withSync)), spread(paired(f, n, withSync), 2),
          Math.max(...f.map((r) => r.maxRssMb)).toFixed(0), Math.max(...n.map((r) => r.maxRssMb)).toFixed(0),
          spread(floor, 2),
          spread(paired(w, n, withSync), 2),
          spread(paired(hot, n, withSync), 2),
          copyFloor === undefined ? '—' : spread(copyFloor, 2),
          unpackFloor === undefined ? '—' : spread(unpackFloor, 2),
          poolFloor === undefined ? '—' : spread(poolFloor, 2),
          ...(before === undefined ? [] : [spread(b.map(withSync)), spread(paired(b, n, withSync), 2)]),
        ]);
      }
    }
    if (json) {
      process.stdout.write(`${JSON.stringify({ narBytes: ds.narBytes, paths: ds.v1.paths.length, reps, decompressors, freshPageCacheGBps, fileCreatesPerMs: fileCreatesPerMsHost, ratios, results }, null, 2)}\n`);
      return;
    }
    const beforeCols = before === undefined ? [] : ['before + sync s', 'before/nix + sync'];
    printTable(['cache', 'phase', 'flotilla s', 'nix copy s', 'flotilla/nix', 'flotilla + sync s', 'nix + sync s', 'flotilla/nix + sync', 'flotilla peak RSS MB', 'nix peak RSS MB', 'node start/nix', 'worker/nix + sync', 'warm/nix + sync', 'bare copy/nix + sync', 'bare unpack/nix + sync', 'bare unpack 2 cores/nix + sync', ...beforeCols], rows);
    if (before !== undefined) process.stdout.write(`"before": ${before}, run in the same rounds\n`);
    process.stdout.write('every figure: median (min–max) of paired runs, wall time of the whole process measured from outside; "+ sync": a sync right after, timed (the same durability: Flotilla flushes before it renames, nix copy does not)\n');
    process.stdout.write('"node start/nix": a bare `node -e 0` in the same round against that round\'s nix copy: the floor of any fresh Node process (both floors run without NODE_EXTRA_CA_CERTS, which Node would parse at start and the bin defers)\n');
    process.stdout.write('"worker/nix + sync": the same fetch as the first of a process that had started and loaded the fetch code (lib/warm-fetcher.ts: the fetch bundle\'s runCli, the agent\'s tick-worker flags), timed from the request: a fetch in the tick worker an agent forks for a tick, without the start and module loading a one-shot process pays\n');
    process.stdout.write('"warm/nix + sync": the same fetch in one process kept for every round, which fetched before: the fetch\'s own work, its code compiled and optimised; what is left above it in "worker" is the cost of cold code\n');
    process.stdout.write('"bare copy/nix + sync": a bare Node process that only copies the NAR files the fetch needs (zstd: has `zstd -d` write them), with its sync, against nix copy with its sync: the floor of any fetch from a fresh process\n');
    process.stdout.write('"bare unpack/nix + sync": a bare Node process that does only the NAR work nix copy does, as it does it (one thread; each NAR hashed against its NarHash and its tree written; from zstd, read out of the system zstd through a FIFO, its FileHash checked by openssl beside it, as the fetch checks it and nix copy does not; no narinfo, signature or database), with its sync, against nix copy with its sync\n');
    process.stdout.write('"bare unpack 2 cores/nix + sync": the same process with its files over 1 MiB written on libuv\'s pool, up to 2 MiB behind, while its thread reads, hashes and parses on (`--pool-writes`): that work on both cores, as the fetch\'s own writes are\n');
    process.stdout.write(`host: fresh page-cache writes, 256 MiB: ${freshPageCacheGBps.before.toFixed(2)} GB/s before the rounds, ${freshPageCacheGBps.after.toFixed(2)} GB/s after (every figure moves with it on a VM whose fresh pages fault into the host)\n`);
    process.stdout.write(`host: small-file creates, 2,000: ${fileCreatesPerMsHost.before.toFixed(1)}/ms before the rounds, ${fileCreatesPerMsHost.after.toFixed(1)}/ms after (~35/ms on a settled disk here; a few per ms for minutes after mass deletes, when every tool's creates are slow)\n`);
    process.stdout.write('targets: cold and one-changed ratio ≤ 1.00, flotilla peak RSS ≤ 150 MB\n');
  } finally {
    await warm?.close();
    await exec('chmod', ['-R', 'u+w', root]).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }
}
