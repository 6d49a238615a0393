import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { cp, mkdir, mkdtemp, readdir, writeFile, lstat } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { WORKER_EXEC_ARGV } from '../src/agent/worker-client.js';
import { fetchClosure } from '../src/fetch/fetch-closure.js';
import { removeTree } from '../src/fetch/materialise-package.js';
import { pushDirectory } from '../src/publish/push-directory.js';
import { DEFAULT_LIMITS } from '../src/packages/limits.js';
import { parseDigest, type Digest } from '../src/store/digest.js';
import { openStore } from '../src/store/open-store.js';
import { listAll } from '../src/store/store.js';
import { createS3Client } from '../src/store/s3-store.js';
import { generateKeyPair, parsePublicKey, parseSecretKey } from '../src/trust/publisher-key.js';
import { generateTree, seededRandom } from '../test/helpers/tree-gen.js';
import { printTable, spread } from './lib/stats.js';

const exec = promisify(execFile);
const RUNNER = join(fileURLToPath(new URL('.', import.meta.url)), 'run.js');

// The shape: runtime ~1,450 files / ~120 MB, libs ~480 / ~27 MB, app ~200 / ~10 MB; 100 B to 8 MB.
const PACKAGES = [
  { name: 'runtime', seed: 101, files: 1450, maxSize: 600_000, fixedSizes: [8_000_000, 6_000_000, 4_000_000], symlinks: 30 },
  { name: 'libs', seed: 202, files: 480, maxSize: 350_000, fixedSizes: [4_000_000, 2_000_000], symlinks: 10 },
  { name: 'app', seed: 303, files: 200, maxSize: 270_000, fixedSizes: [3_000_000], symlinks: 4 },
];

interface Dataset {
  root: string;
  v1: Digest;
  v2: Digest;
  v1Tree: string;
  bytes: number;
  files: number;
  changedBytes: number;
  pubKey: string;
}

async function listFiles(dir: string, out: string[] = []): Promise<string[]> {
  for (const d of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isDirectory()) await listFiles(p, out);
    else if (d.isFile()) out.push(p);
  }
  return out;
}

/** Builds v1 and v2 trees, pushes both (app references libs references runtime) and signs them. */
async function buildDataset(root: string, storeUrls: string[], inlineMaxBytes: number): Promise<Dataset> {
  const key = generateKeyPair('bench-1');
  const secret = parseSecretKey(key.secret);
  const v1Tree = join(root, 'v1');
  const v2Tree = join(root, 'v2');
  let bytes = 0;
  let files = 0;
  for (const p of PACKAGES) {
    await mkdir(join(v1Tree, p.name), { recursive: true });
    await generateTree(join(v1Tree, p.name), { seed: p.seed, files: p.files, minSize: 100, maxSize: p.maxSize, fixedSizes: p.fixedSizes, symlinks: p.symlinks, executableRatio: 0.05 });
  }
  await cp(v1Tree, v2Tree, { recursive: true, verbatimSymlinks: true });
  // v2: ~20 changed files in two packages (12 in app, 8 in libs), same sizes, new bytes.
  const rand = seededRandom(909);
  let changedBytes = 0;
  for (const [pkg, n] of [['app', 12], ['libs', 8]] as const) {
    const all = (await listFiles(join(v2Tree, pkg))).sort();
    for (let i = 0; i < n; i++) {
      const f = all[Math.floor(rand() * all.length)] ?? '';
      const size = (await lstat(f)).size;
      const buf = Buffer.alloc(size);
      for (let j = 0; j < size; j += 4096) buf.writeUInt32LE(Math.floor(rand() * 0xffffffff), j);
      await writeFile(f, buf);
      changedBytes += size;
    }
  }
  for (const f of await listFiles(v1Tree)) {
    files++;
    bytes += (await lstat(f)).size;
  }
  const digests: Digest[] = [];
  for (const url of storeUrls) {
    const store = openStore(url);
    for (const tree of [v1Tree, v2Tree]) {
      const runtime = await pushDirectory(store, join(tree, 'runtime'), { name: 'runtime', signKeys: [secret], limits: { inlineMaxBytes } });
      const libs = await pushDirectory(store, join(tree, 'libs'), { name: 'libs', references: [runtime.digest], signKeys: [secret], limits: { inlineMaxBytes } });
      const app = await pushDirectory(store, join(tree, 'app'), { name: 'app', references: [libs.digest], signKeys: [secret], limits: { inlineMaxBytes } });
      digests.push(app.digest);
    }
    await store.close();
  }
  return { root, v1: digests[0] as Digest, v2: digests[1] as Digest, v1Tree, bytes, files, changedBytes, pubKey: key.public };
}

interface ChildResult {
  seconds: number;
  bytes: number;
  objects: number;
  requests: number;
  maxRssMb: number;
}

/**
 * This process's peak RSS (VmHWM). Not getrusage's maxRSS: exec records the forked copy of the parent's
 * memory there, so a child of a big parent would report the parent's size.
 */
function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

/** Child mode: one fetch in a fresh process, so peak RSS belongs to the fetch alone. */
async function runChild(args: string[]): Promise<void> {
  const [url, digest, state, pub, link] = args;
  const store = openStore(url ?? '');
  const t0 = performance.now();
  const r = await fetchClosure({ stores: [store], digest: parseDigest(digest), policy: { trusted: [parsePublicKey(pub ?? '')] }, stateDir: state ?? '', linkLocal: link !== 'copy' });
  const seconds = (performance.now() - t0) / 1000;
  await store.close();
  const out: ChildResult = { seconds, bytes: r.bytesFetched, objects: r.objectsFetched, requests: r.requests, maxRssMb: peakRssMb() };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

async function child(url: string, digest: Digest, state: string, pub: string, env: NodeJS.ProcessEnv, link: 'link' | 'copy' = 'link'): Promise<ChildResult> {
  // With the agent's tick-worker flags: that is the process that fetches in production.
  const { stdout } = await exec(process.execPath, [...WORKER_EXEC_ARGV, RUNNER, 'fetch', '--child', url, digest, state, pub, link], { env, maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as ChildResult;
}

/** Writes out every dirty page (untimed), so each timed command starts from the same clean disk. */
async function syncDisk(): Promise<void> {
  await exec('sync', []);
}

async function timeCpA(src: string, dest: string): Promise<number> {
  const t0 = performance.now();
  await new Promise<void>((res, rej) => spawn('cp', ['-a', src, dest], { stdio: 'ignore' }).on('exit', (c) => (c === 0 ? res() : rej(new Error(`cp exit ${c}`)))));
  return (performance.now() - t0) / 1000;
}

// Hashes the files it is sent with one reused 1 MiB buffer and synchronous reads (the fetch's own way).
const HASH_WORKER = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const { createHash } = require('node:crypto');
const buf = Buffer.allocUnsafe(1 << 20);
parentPort.on('message', (files) => {
  for (const f of files) {
    const fd = fs.openSync(f, 'r');
    const h = createHash('sha256');
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
    fs.closeSync(fd);
    h.digest();
  }
  parentPort.postMessage(files.length);
});`;

/**
 * The floor of any verifying fetch: sha256 of every byte of the tree, read from the page cache, on
 * `threads` threads (started before the clock). No copy, no manifest, no file created.
 */
async function timeHash(src: string, threads: number): Promise<number> {
  const files = await listFiles(src);
  const workers = Array.from({ length: threads }, () => new Worker(HASH_WORKER, { eval: true }));
  try {
    await Promise.all(workers.map((w) => new Promise((res) => w.once('online', res))));
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      workers.map(async (w) => {
        while (next < files.length) {
          const batch = files.slice(next, next + 32);
          next += batch.length;
          w.postMessage(batch);
          await new Promise((res) => w.once('message', res));
        }
      }),
    );
    return (performance.now() - t0) / 1000;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/**
 * The floor of a fetch from a network store: GET every object of the store, 16 at a time (the fetch's
 * default), bytes read and dropped: no hashing, no file written.
 */
async function timeGetAll(url: string): Promise<number> {
  const store = openStore(url);
  try {
    const keys: string[] = [];
    for await (const o of listAll(store, 'objects/')) keys.push(o.key);
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < keys.length) {
          const body = await store.get(keys[next++] ?? '');
          for await (const _chunk of body) {
            // dropped
          }
        }
      }),
    );
    return (performance.now() - t0) / 1000;
  } finally {
    await store.close();
  }
}

async function startRgwStore(): Promise<{ url: string; env: NodeJS.ProcessEnv; stop: () => Promise<void> } | undefined> {
  try {
    const { startRgw } = await import('../scripts/servers/rgw.js');
    const rgw = await startRgw();
    const env = { ...process.env, AWS_ACCESS_KEY_ID: rgw.accessKey, AWS_SECRET_ACCESS_KEY: rgw.secretKey, AWS_REGION: rgw.region };
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: rgw.accessKey, AWS_SECRET_ACCESS_KEY: rgw.secretKey, AWS_REGION: rgw.region });
    const client = createS3Client({ bucket: 'bench', prefix: '', endpoint: rgw.endpoint, region: rgw.region, url: rgw.endpoint });
    await client.send(new CreateBucketCommand({ Bucket: 'bench' }));
    client.destroy();
    const q = new URLSearchParams({ endpoint: rgw.endpoint, region: rgw.region, forcePathStyle: 'true' });
    return { url: `s3://bench/?${q.toString()}`, env, stop: () => rgw.stop() };
  } catch (err) {
    process.stdout.write(`RGW not available, skipping it: ${(err as Error).message.split('\n')[0]}\n`);
    return undefined;
  }
}

/** `npm run bench -- fetch [--reps N] [--no-rgw | --no-dir] [--inline BYTES]`: cold, incremental and no-op fetch beside cp -a and hashing. */
export async function run(args: string[]): Promise<void> {
  if (args[0] === '--child') return runChild(args.slice(1));
  const reps = Number(args[args.indexOf('--reps') + 1] ?? 5) || 5;
  const root = await mkdtemp(join(tmpdir(), 'flotilla-bench-fetch-'));
  const rgw = args.includes('--no-rgw') ? undefined : await startRgwStore();
  try {
    const fsUrl = join(root, 'store');
    const backends = [
      ...(args.includes('--no-dir') && rgw ? [] : [{ name: 'dir', url: fsUrl, env: process.env }]),
      ...(rgw ? [{ name: 'rgw', url: rgw.url, env: rgw.env }] : []),
    ];
    const t0 = performance.now();
    const inlineAt = args.indexOf('--inline');
    const inlineMaxBytes = inlineAt >= 0 ? Number(args[inlineAt + 1]) : DEFAULT_LIMITS.inlineMaxBytes;
    const ds = await buildDataset(root, backends.map((b) => b.url), inlineMaxBytes);
    process.stdout.write(`dataset: ${ds.files} files, ${(ds.bytes / 1e6).toFixed(1)} MB in 3 packages (files ≤ ${inlineMaxBytes} B inlined); v2 changes ${(ds.changedBytes / 1e6).toFixed(2)} MB; built and pushed in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${reps} reps, interleaved\n`);
    const rows: Array<Array<string | number>> = [];
    const threads = availableParallelism();
    for (const b of backends) {
      const local = b.name === 'dir';
      const m: Record<string, number[]> = { cp: [], hash1: [], hashN: [], get: [], cold: [], copy: [], incr: [], noop: [] };
      const last: Record<string, ChildResult> = {};
      const rss: number[] = [];
      for (let i = 0; i < reps; i++) {
        // Every timed command writes into a fresh directory after an untimed sync, and nothing is deleted
        // until the end: deletes slow this disk's next creates down. The order flips every rep.
        const state = join(root, `state-${b.name}-${i}`);
        const steps: Array<[string, () => Promise<number>]> = [
          ['cp', () => timeCpA(ds.v1Tree, join(root, `cp-${b.name}-${i}`))],
          ['cold', async () => {
            const r = await child(b.url, ds.v1, state, ds.pubKey, b.env);
            last['cold'] = r;
            rss.push(r.maxRssMb);
            return r.seconds;
          }],
          ...(local
            ? [['copy', async () => {
                const r = await child(b.url, ds.v1, join(root, `state-copy-${i}`), ds.pubKey, b.env, 'copy');
                last['copy'] = r;
                rss.push(r.maxRssMb);
                return r.seconds;
              }] as [string, () => Promise<number>]]
            : []),
        ];
        for (const [name, step] of i % 2 === 0 ? steps : [...steps].reverse()) {
          await syncDisk();
          m[name]?.push(await step());
        }
        if (!local) m['get']?.push(await timeGetAll(b.url));
        m['hash1']?.push(await timeHash(ds.v1Tree, 1));
        m['hashN']?.push(await timeHash(ds.v1Tree, threads));
        const incr = await child(b.url, ds.v2, state, ds.pubKey, b.env);
        const noop = await child(b.url, ds.v2, state, ds.pubKey, b.env);
        m['incr']?.push(incr.seconds);
        m['noop']?.push(noop.seconds);
        rss.push(incr.maxRssMb, noop.maxRssMb);
        Object.assign(last, { incr, noop });
      }
      const mbps = (xs: number[], bytes: number): string => spread(xs.map((x) => bytes / 1e6 / x), 0);
      const paired = (xs: number[]): string => spread(xs.map((c, i) => c / ((m['cp'] ?? [])[i] ?? 1)), 2);
      rows.push([b.name, 'cp -a v1', spread(m['cp'] ?? []), mbps(m['cp'] ?? [], ds.bytes), '-', '-', '-']);
      rows.push([b.name, 'sha256 of v1, 1 thread', spread(m['hash1'] ?? []), mbps(m['hash1'] ?? [], ds.bytes), '-', '-', '-']);
      rows.push([b.name, `sha256 of v1, ${threads} threads (floor)`, spread(m['hashN'] ?? []), mbps(m['hashN'] ?? [], ds.bytes), '-', '-', '-']);
      if (!local) rows.push([b.name, 'GET every object, 16 at a time (floor)', spread(m['get'] ?? []), mbps(m['get'] ?? [], ds.bytes), '-', '-', '-']);
      const labels: Array<[string, string]> = local
        ? [['cold', 'fetch cold v1, linked (store files ours)'], ['copy', 'fetch cold v1, copied (linkLocal off)'], ['incr', 'fetch v1→v2'], ['noop', 'fetch no-op']]
        : [['cold', 'fetch cold v1'], ['incr', 'fetch v1→v2'], ['noop', 'fetch no-op']];
      for (const [k, label] of labels) {
        const r = last[k] as ChildResult;
        const cold = k === 'cold' || k === 'copy';
        rows.push([b.name, label, spread(m[k] ?? []), cold ? mbps(m[k] ?? [], ds.bytes) : '-', `${(r.bytes / 1e6).toFixed(2)} MB`, `${r.objects}/${r.requests}`, r.maxRssMb.toFixed(0)]);
      }
      if (local) rows.push([b.name, 'floor / cp -a (paired)', paired(m['hashN'] ?? []), '', '', '', '']);
      else rows.push([b.name, 'fetch cold / GET floor (paired)', spread((m['cold'] ?? []).map((c, i) => c / ((m['get'] ?? [])[i] ?? 1)), 2), '', '', '', '']);
      rows.push([b.name, 'fetch cold / cp -a (paired)', paired(m['cold'] ?? []), '', '', '', `peak RSS max ${Math.max(...rss).toFixed(0)} MB`]);
      if (local) rows.push([b.name, 'fetch cold copied / cp -a (paired)', paired(m['copy'] ?? []), '', '', '', '']);
    }
    printTable(['store', 'what', 'seconds median (min–max)', 'MB/s', 'transferred', 'objects/requests', 'peak RSS MB'], rows);
  } finally {
    await rgw?.stop();
    await removeTree(root);
  }
}
