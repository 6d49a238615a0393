// `npm run bench -- fetch [--runs N] [--json] [--no-rgw] [--delete-between-rounds]`: a whole `flotilla fetch` process beside real Nix
// (`nix copy --from <binary cache> --to <fresh chroot store>`) on the same closure, as a user waits for it:
// cold from a directory and over HTTP, incremental v1 → v2 and no-op over HTTP, CLI start beside bare
// node, peak RSS, and the cold fetch from Ceph RGW beside a GET of every object. Cold over HTTP also has
// two floors beside Nix: a bare Node process making the same GETs, hashing and writing the objects
// (lib/bare-fetch.ts), on one thread and on two, as numbered files or as the closure's whole tree (every
// directory, symlink and inline file too, as any fetch writes), the tree also with the fetch's early
// writeback, and once more with its GETs only after the closure's signed manifests were read and
// authenticated the least way (lib/bare-signed-closure.ts); and Flotilla fetching the same closure's Nix
// store paths from Nix's own cache (issue 16's path, on a closure of many files). Runs are interleaved (the
// order flips every round), each followed by a counted `sync`; figures are medians of same-round pairs,
// and beside them each tool's fastest round against the other's.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { WRITEBACK_BYTES } from '../src/util/early-writeback.js';
import { removeTree } from '../src/util/remove-tree.js';
import { openRgwStore, startStaticServer, type RgwStore, type StaticServer } from './lib/bench-servers.js';
import { buildTrees, pushTrees } from './lib/fetch-dataset.js';
import { coldFetchPlan, timeGetAll, timeHash } from './lib/fetch-floors.js';
import { fileCreatesPerMs } from './lib/create-rate.js';
import { freshPageCacheGBps } from './lib/fresh-pages.js';
import { buildNixClosures, nixCopyArgs, NIX_ENV, type NixClosures } from './lib/nix-closure.js';
import { CLI } from './lib/procs.js';
import { median, printTable } from './lib/stats.js';
import { floorEnv, timeProcess, timeSync, type TimedRun } from './lib/timed-process.js';

/** What `npm run bench -- fetch --help` prints: the synopsis, then what it measures. */
export const usage = "npm run bench -- fetch [--runs N] [--json] [--no-rgw] [--delete-between-rounds]\nA whole `flotilla fetch` process beside real Nix (`nix copy --from <binary cache>`) on the same closure: cold from a directory, over HTTP and from Ceph RGW, incremental and no-op over HTTP, CLI start beside bare node, peak RSS.";

type Sample = Record<string, TimedRun[]>;

const BARE_FETCH = fileURLToPath(new URL('./lib/bare-fetch.js', import.meta.url));

interface Setup {
  root: string;
  nix: NixClosures;
  flotillaDir: string;
  pubKey: string;
  v1: string;
  v2: string;
  http: { flotilla: StaticServer; none: StaticServer; zstd: StaticServer };
  rgw: RgwStore | undefined;
  /** The bare-Node floor's plan: the object GETs of a cold fetch of v1 over HTTP (bare-fetch.ts). */
  barePlan: string;
}

const fmt = (s: number): string => s.toFixed(3);

/**
 * `flotilla ARGS` as a user runs it: the bin itself executed, so its shebang's Node flags apply, with this
 * benchmark's Node first on PATH (the one `node -e 0` is timed with).
 */
function flotilla(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<TimedRun> {
  return timeProcess(CLI, args, { ...env, PATH: `${dirname(process.execPath)}${delimiter}${env['PATH'] ?? ''}` });
}

/** `flotilla fetch` of `digest` from `store` into `state`, as a whole process. */
function flotillaFetch(s: Setup, store: string, digest: string, state: string, env: NodeJS.ProcessEnv = process.env): Promise<TimedRun> {
  return flotilla(['fetch', digest, '--store', store, '--trust', s.pubKey, '--state', state, '--json'], env);
}

/** `flotilla fetch` of the Nix store path `path` from the Nix binary cache at `url` into the root `root`. */
function flotillaNixFetch(s: Setup, url: string, path: string, root: string): Promise<TimedRun> {
  return flotilla(['fetch', path, '--store', `nix+${url}`, '--trust', s.nix.publicKey, '--root', root, '--register', 'never', '--json']);
}

/** `nix copy` of `path` from `cache` into the chroot store `dest`, with its own empty narinfo disk cache. */
function nixCopy(s: Setup, cache: string, dest: string, path: string, xdg: string): Promise<TimedRun> {
  return timeProcess('nix', nixCopyArgs(cache, dest, path, s.nix.publicKey), { ...NIX_ENV, XDG_CACHE_HOME: xdg });
}

/** One round: every case, each tool's pair in the order `flip` says, writing under `dir`. */
async function round(s: Setup, dir: string, flip: boolean, m: Sample): Promise<void> {
  let n = 0;
  const xdg = (): string => join(dir, `xdg-${n++}`);
  const add = (name: string, r: TimedRun): void => {
    (m[name] ??= []).push(r);
  };
  const pair = async (steps: Array<[string, () => Promise<TimedRun>]>): Promise<void> => {
    for (const [name, step] of flip ? [...steps].reverse() : steps) add(name, await step());
  };
  const h = s.http;
  await pair([
    ['nixDir', () => nixCopy(s, s.nix.caches.none, join(dir, 'nix-dir'), s.nix.v1, xdg())],
    ['nixDirZstd', () => nixCopy(s, s.nix.caches.zstd, join(dir, 'nix-dir-zstd'), s.nix.v1, xdg())],
    ['flDir', () => flotillaFetch(s, s.flotillaDir, s.v1, join(dir, 'fl-dir'))],
  ]);
  await pair([
    ['nixHttp', () => nixCopy(s, h.none.url, join(dir, 'nix-http'), s.nix.v1, xdg())],
    ['nixHttpZstd', () => nixCopy(s, h.zstd.url, join(dir, 'nix-http-zstd'), s.nix.v1, xdg())],
    ['flHttp', () => flotillaFetch(s, h.flotilla.url, s.v1, join(dir, 'fl-http'))],
    ['flNixHttp', () => flotillaNixFetch(s, h.none.url, s.nix.v1, join(dir, 'fl-nix-http'))],
    ['flNixHttpZstd', () => flotillaNixFetch(s, h.zstd.url, s.nix.v1, join(dir, 'fl-nix-http-zstd'))],
    ['bareHttp', () => timeProcess(process.execPath, [BARE_FETCH, s.barePlan, join(dir, 'bare-http'), '1'], floorEnv())],
    ['bareHttp2', () => timeProcess(process.execPath, [BARE_FETCH, s.barePlan, join(dir, 'bare-http-2'), '2'], floorEnv())],
    ['bareTree', () => timeProcess(process.execPath, [BARE_FETCH, s.barePlan, join(dir, 'bare-tree'), '1', 'tree'], floorEnv())],
    ['bareTree2', () => timeProcess(process.execPath, [BARE_FETCH, s.barePlan, join(dir, 'bare-tree-2'), '2', 'tree'], floorEnv())],
    ['bareTreeWb', () => timeProcess(process.execPath, [BARE_FETCH, s.barePlan, join(dir, 'bare-tree-wb'), '1', 'tree', String(WRITEBACK_BYTES)], floorEnv())],
    ['bareTreeWb2', () => timeProcess(process.execPath, [BARE_FETCH, s.barePlan, join(dir, 'bare-tree-wb-2'), '2', 'tree', String(WRITEBACK_BYTES)], floorEnv())],
    ['bareTreeWbSigned', () => timeProcess(process.execPath, [BARE_FETCH, s.barePlan, join(dir, 'bare-tree-wb-signed'), '1', 'tree', String(WRITEBACK_BYTES), 'signed'], floorEnv())],
  ]);
  await pair([
    ['nixIncr', () => nixCopy(s, h.none.url, join(dir, 'nix-http'), s.nix.v2, xdg())],
    ['flIncr', () => flotillaFetch(s, h.flotilla.url, s.v2, join(dir, 'fl-http'))],
  ]);
  await pair([
    ['nixNoop', () => nixCopy(s, h.none.url, join(dir, 'nix-http'), s.nix.v2, xdg())],
    ['flNoop', () => flotillaFetch(s, h.flotilla.url, s.v2, join(dir, 'fl-http'))],
  ]);
  const starts: Array<[string, () => Promise<TimedRun>]> = [
    ['node', () => timeProcess(process.execPath, ['-e', '0'], floorEnv())],
    ['flHelp', () => flotilla(['--help'])],
    ['flFetchHelp', () => flotilla(['fetch', '--help'])],
  ];
  // Node as it starts in this environment, for the record: it reads NODE_EXTRA_CA_CERTS before any code runs.
  if (process.env['NODE_EXTRA_CA_CERTS']) starts.push(['nodeExtraCa', () => timeProcess(process.execPath, ['-e', '0'])]);
  await pair(starts);
  if (s.rgw) {
    const rgw = s.rgw;
    add('flRgw', await flotillaFetch(s, rgw.url, s.v1, join(dir, 'fl-rgw'), rgw.env));
    const t = await timeGetAll(rgw.url);
    add('rgwFloor', { seconds: t, syncSeconds: 0, cpuSeconds: 0, peakRssMb: 0, stdout: '' });
  }
}

const wall = (r: TimedRun): number => r.seconds;
/** The `requests` a `flotilla fetch --json` run reported (NaN when its output says none). */
const requestsOf = (r: TimedRun): number => {
  try {
    return (JSON.parse(r.stdout) as { data?: { requests?: number } }).data?.requests ?? Number.NaN;
  } catch {
    return Number.NaN;
  }
};
const withSync = (r: TimedRun): number => r.seconds + r.syncSeconds;
const cpu = (r: TimedRun): number => r.cpuSeconds;

/** Median over rounds of a − b in the same round (what a costs beyond b, e.g. beyond bare Node's start). */
function pairedExcess(m: Sample, a: string, b: string, f: (r: TimedRun) => number): number {
  return median((m[a] ?? []).map((r, i) => f(r) - f((m[b] ?? [])[i] as TimedRun)));
}

/**
 * Each tool's fastest round against the other's, wall + sync: what the ratio is when the host lets both
 * go at full speed (on this VM a round's `nix copy` takes 0.4–1.2 s, by how the host backs fresh pages).
 */
function fastestRatio(m: Sample, a: string, bs: string[]): number {
  const fastest = (name: string): number => Math.min(...(m[name] ?? []).map(withSync));
  return fastest(a) / Math.min(...bs.map(fastest));
}

/** Median over rounds of a / min(bs) in the same round. */
function pairedRatio(m: Sample, a: string, bs: string[], f: (r: TimedRun) => number): number {
  const xs = (m[a] ?? []).map((r, i) => f(r) / Math.min(...bs.map((b) => f((m[b] ?? [])[i] as TimedRun))));
  return median(xs);
}

function cell(m: Sample, name: string): string {
  const rs = m[name] ?? [];
  if (rs.length === 0) return '-';
  const sync = median(rs.map((r) => r.syncSeconds));
  return `${fmt(median(rs.map(wall)))} s (+${fmt(sync)} s)`;
}

/** Fresh page-cache writes (lib/fresh-pages.ts, GB/s) and small-file creates (lib/create-rate.ts, per ms), before the rounds and after them. */
interface HostState {
  before: number;
  after: number;
  creates: { before: number; after: number };
}

function report(m: Sample, s: Setup, floors: { hash: number[] }, host: HostState, json: boolean): void {
  const nixBestDir = ['nixDir', 'nixDirZstd'];
  const nixBestHttp = ['nixHttp', 'nixHttpZstd'];
  const ratio = (a: string, bs: string[]): string => `${pairedRatio(m, a, bs, wall).toFixed(2)}×; ${pairedRatio(m, a, bs, withSync).toFixed(2)}× (fastest rounds: ${fastestRatio(m, a, bs).toFixed(2)}×)`;
  const rss = (name: string): number => median((m[name] ?? []).map((r) => r.peakRssMb));
  const result = {
    coldDirRatio: pairedRatio(m, 'flDir', nixBestDir, withSync),
    coldHttpRatio: pairedRatio(m, 'flHttp', nixBestHttp, withSync),
    coldHttpFastestRatio: fastestRatio(m, 'flHttp', nixBestHttp),
    // Issue 16's path on this closure's many files: Flotilla fetching the Nix store paths from Nix's own
    // cache (nix+http), against nix copy from the same cache.
    nixCacheColdHttpRatio: pairedRatio(m, 'flNixHttp', ['nixHttp'], withSync),
    nixCacheZstdColdHttpRatio: pairedRatio(m, 'flNixHttpZstd', ['nixHttpZstd'], withSync),
    // Floors: a bare Node process making the same GETs, hashing and writing the objects as files (one
    // thread; two lanes on worker threads): what Node itself allows beside Nix on this machine.
    bareNodeHttpRatio: pairedRatio(m, 'bareHttp', nixBestHttp, withSync),
    bareNodeTwoLanesHttpRatio: pairedRatio(m, 'bareHttp2', nixBestHttp, withSync),
    // The same writing the closure's whole tree, as any fetch must (Nix's too): its directories, symlinks
    // and inline files as well, each object at its path.
    bareNodeTreeHttpRatio: pairedRatio(m, 'bareTree', nixBestHttp, withSync),
    bareNodeTreeTwoLanesHttpRatio: pairedRatio(m, 'bareTree2', nixBestHttp, withSync),
    // And the whole tree flushed in the background as it is written (a `sync -f` every WRITEBACK_BYTES, as
    // the fetch's early writeback does), so the disk writes during the download rather than in the `sync`.
    bareNodeTreeWritebackHttpRatio: pairedRatio(m, 'bareTreeWb', nixBestHttp, withSync),
    bareNodeTreeWritebackTwoLanesHttpRatio: pairedRatio(m, 'bareTreeWb2', nixBestHttp, withSync),
    // And, one thread, only once the closure's signed manifests were read and authenticated the least way
    // (root signature, every manifest's hash, lib/bare-signed-closure.ts): what no verifying fetch skips.
    bareNodeSignedTreeWritebackHttpRatio: pairedRatio(m, 'bareTreeWbSigned', nixBestHttp, withSync),
    incrHttpRatio: pairedRatio(m, 'flIncr', ['nixIncr'], withSync),
    noopHttpSeconds: median((m['flNoop'] ?? []).map(wall)),
    // What the no-op asked of the store (its own `--json` count): Nix's asks nothing.
    noopRequests: Math.max(...(m['flNoop'] ?? []).map(requestsOf)),
    noopOverNodeSeconds: pairedExcess(m, 'flNoop', 'node', wall),
    cliStartRatio: pairedRatio(m, 'flHelp', ['node'], wall),
    // Bare `node -e 0` (the floors' Node: without NODE_EXTRA_CA_CERTS, which the bin defers), and, when the
    // environment sets that variable, Node started with it (null when unset).
    nodeStartSeconds: median((m['node'] ?? []).map(wall)),
    nodeExtraCaStartSeconds: m['nodeExtraCa'] ? median(m['nodeExtraCa'].map(wall)) : null,
    // CPU (user + sys), which load inflates far less than wall time: the no-op's and `--help`'s beyond bare node's.
    noopOverNodeCpuSeconds: pairedExcess(m, 'flNoop', 'node', cpu),
    cliStartOverNodeCpuSeconds: pairedExcess(m, 'flHelp', 'node', cpu),
    peakRssMb: Math.max(rss('flDir'), rss('flHttp'), rss('flIncr'), rss('flRgw') || 0),
    rgwColdOverFloor: s.rgw ? pairedRatio(m, 'flRgw', ['rgwFloor'], wall) : null,
    // How fast the host filled new page-cache pages before and after the rounds: every tool's writes pay
    // it, and on a VM whose fresh pages fault into the host all figures move with it (lib/fresh-pages.ts).
    freshPageCacheGBps: { before: host.before, after: host.after },
    // And how fast it created small files: slow for minutes after mass deletes (lib/create-rate.ts).
    fileCreatesPerMs: host.creates,
    // CPU (user + sys, children included) of the cold fetch over HTTP and of Nix's from the same server:
    // on two cores shared with that server, the wall time follows it (docs/performance.md, session 32).
    coldHttpCpuSeconds: { nix: median((m['nixHttp'] ?? []).map(cpu)), flotilla: median((m['flHttp'] ?? []).map(cpu)) },
    runs: (m['flHttp'] ?? []).length,
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const rows: string[][] = [
    ['cold, directory store / file:// cache', `${cell(m, 'nixDir')}; zstd ${cell(m, 'nixDirZstd')}`, cell(m, 'flDir'), ratio('flDir', nixBestDir)],
    ['cold, over HTTP (project static server)', `${cell(m, 'nixHttp')}; zstd ${cell(m, 'nixHttpZstd')}`, cell(m, 'flHttp'), ratio('flHttp', nixBestHttp)],
    ['the same from the Nix cache (nix+http; zstd)', '', `${cell(m, 'flNixHttp')}; zstd ${cell(m, 'flNixHttpZstd')}`, `${ratio('flNixHttp', ['nixHttp'])}; zstd ${ratio('flNixHttpZstd', ['nixHttpZstd'])}`],
    ['floor: bare Node, the same GETs hashed and written as files, one thread', '', cell(m, 'bareHttp'), ratio('bareHttp', nixBestHttp)],
    ['floor: the same on two lanes (worker threads)', '', cell(m, 'bareHttp2'), ratio('bareHttp2', nixBestHttp)],
    ['floor: bare Node writing the whole tree (dirs, symlinks, inline files, objects at their paths), one thread', '', cell(m, 'bareTree'), ratio('bareTree', nixBestHttp)],
    ['floor: the whole tree on two lanes (worker threads)', '', cell(m, 'bareTree2'), ratio('bareTree2', nixBestHttp)],
    [`floor: the whole tree with early writeback (a sync -f every ${WRITEBACK_BYTES / 1024 / 1024} MiB, as the fetch does), one thread`, '', cell(m, 'bareTreeWb'), ratio('bareTreeWb', nixBestHttp)],
    ['floor: the same on two lanes', '', cell(m, 'bareTreeWb2'), ratio('bareTreeWb2', nixBestHttp)],
    ['floor: one thread, GETs only after the signed closure was read and authenticated (root signature, manifest hashes)', '', cell(m, 'bareTreeWbSigned'), ratio('bareTreeWbSigned', nixBestHttp)],
    ['incremental v1 → v2 over HTTP', cell(m, 'nixIncr'), cell(m, 'flIncr'), ratio('flIncr', ['nixIncr'])],
    ['no-op over HTTP', cell(m, 'nixNoop'), `${cell(m, 'flNoop')}; bare node + ${fmt(result.noopOverNodeSeconds)} s (CPU + ${fmt(result.noopOverNodeCpuSeconds)} s); ${result.noopRequests} request(s)`, ratio('flNoop', ['nixNoop'])],
    ['process start (`flotilla --help`)', `bare node -e 0: ${fmt(result.nodeStartSeconds)} s (CPU ${fmt(median((m['node'] ?? []).map(cpu)))} s)${result.nodeExtraCaStartSeconds === null ? '' : `; with NODE_EXTRA_CA_CERTS read at start: ${fmt(result.nodeExtraCaStartSeconds)} s`}`, `${fmt(median((m['flHelp'] ?? []).map(wall)))} s (fetch --help ${fmt(median((m['flFetchHelp'] ?? []).map(wall)))} s; CPU bare node + ${fmt(result.cliStartOverNodeCpuSeconds)} s)`, `${result.cliStartRatio.toFixed(2)}× bare node`],
    ['peak RSS, cold over HTTP', `${rss('nixHttp').toFixed(0)} MB`, `${rss('flHttp').toFixed(0)} MB (dir ${rss('flDir').toFixed(0)}, incr ${rss('flIncr').toFixed(0)})`, `${(rss('flHttp') / rss('nixHttp')).toFixed(1)}×`],
  ];
  if (s.rgw) rows.push(['cold from Ceph RGW', `GET every object, 16 at a time, warm process: ${fmt(median((m['rgwFloor'] ?? []).map(wall)))} s`, cell(m, 'flRgw'), `${(result.rgwColdOverFloor ?? 0).toFixed(2)}× the floor`]);
  rows.push(['floor: sha256 of v1, all cores, warm process', '', `${fmt(median(floors.hash))} s`, '']);
  rows.push(['CPU of the cold fetch over HTTP (user + sys)', `${fmt(result.coldHttpCpuSeconds.nix)} s`, `${fmt(result.coldHttpCpuSeconds.flotilla)} s`, `${(result.coldHttpCpuSeconds.flotilla / result.coldHttpCpuSeconds.nix).toFixed(2)}×`]);
  rows.push(['host: fresh page-cache writes, 256 MiB (before the rounds; after)', '', `${host.before.toFixed(2)} GB/s; ${host.after.toFixed(2)} GB/s`, '']);
  rows.push(['host: small-file creates, 2,000 (before the rounds; after; ~35/ms on a settled disk here)', '', `${host.creates.before.toFixed(1)}/ms; ${host.creates.after.toFixed(1)}/ms`, '']);
  printTable(['case', 'Nix', 'Flotilla', 'Flotilla / Nix, same-round pairs (wall; wall + sync)'], rows);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Untimed set-up: trees, the Flotilla store (directory, RGW), the Nix closures and caches, the HTTP servers. */
async function setUp(root: string, withRgw: boolean): Promise<Setup> {
  const t0 = performance.now();
  const trees = await buildTrees(root);
  const flotillaDir = join(root, 'store');
  const rgw = withRgw ? await openRgwStore(`bench-fetch-${process.pid}`) : undefined;
  let pushed, nix, servers;
  try {
    pushed = await pushTrees(trees, [flotillaDir, ...(rgw ? [rgw.url] : [])]);
    nix = await buildNixClosures(root, trees);
    servers = await Promise.all([startStaticServer(flotillaDir), startStaticServer(nix.cacheDirs.none), startStaticServer(nix.cacheDirs.zstd)]);
  } catch (err) {
    // The shared RGW keeps what was pushed in memory: empty the bucket even when set-up fails.
    await rgw?.stop();
    await nix?.remove();
    throw err;
  }
  const [flotilla, none, zstd] = servers;
  const barePlan = join(root, 'bare-plan.json');
  await writeFile(barePlan, JSON.stringify({ base: flotilla.url, ...(await coldFetchPlan(flotilla.url, pushed.v1)), signed: { root: pushed.v1, key: pushed.pubKey } }));
  process.stdout.write(
    `closure: ${trees.files} files, ${(trees.bytes / 1e6).toFixed(1)} MB in 3 packages; v2 changes ${trees.changedFiles} files, ${(trees.changedBytes / 1e6).toFixed(2)} MB; ` +
      `built, pushed and published in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
  );
  return { root, nix, flotillaDir, pubKey: pushed.pubKey, v1: pushed.v1, v2: pushed.v2, http: { flotilla, none, zstd }, rgw, barePlan };
}

/** `npm run bench -- fetch [--runs N] [--json] [--no-rgw] [--delete-between-rounds]`. */
export async function run(args: string[]): Promise<void> {
  const at = args.indexOf('--runs');
  const runs = at >= 0 ? Math.max(1, Number(args[at + 1]) || 1) : 5;
  const json = args.includes('--json');
  const deleteBetween = args.includes('--delete-between-rounds');
  const root = await mkdtemp(join(tmpdir(), 'flotilla-bench-fetch-'));
  let s: Setup | undefined;
  try {
    s = await setUp(root, !args.includes('--no-rgw'));
    // One untimed round first: page cache, the servers' etag caches and both tools' binaries warm.
    const m: Sample = {};
    const hash: number[] = [];
    const before = await freshPageCacheGBps(root);
    const createsBefore = fileCreatesPerMs(root);
    for (let i = -1; i < runs; i++) {
      const dir = join(root, `round-${i + 1}`);
      await mkdir(dir, { recursive: true });
      await round(s, dir, i % 2 === 1, i < 0 ? {} : m);
      if (i >= 0) hash.push(await timeHash(join(root, 'v1'), availableParallelism()));
      // Kept until the end unless asked: on ext4 every inode made within ~30 s of a mass delete costs a scan
      // past the recently freed ones (0.6 ms per file instead of 0.07, docs/performance.md), which would
      // time this harness's own cleanup, not either tool. Either way written back outside the clock.
      if (deleteBetween) await removeTree(dir);
      await timeSync();
      if (!json) process.stdout.write(i < 0 ? 'warm-up round done\n' : `round ${i + 1}/${runs} done\n`);
    }
    report(m, s, { hash }, { before, after: await freshPageCacheGBps(root), creates: { before: createsBefore, after: fileCreatesPerMs(root) } }, json);
  } finally {
    if (s) await Promise.all([s.http.flotilla.stop(), s.http.none.stop(), s.http.zstd.stop(), s.rgw?.stop() ?? Promise.resolve(), s.nix.remove()]);
    await removeTree(root);
  }
}
