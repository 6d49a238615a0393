import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRgw } from '../scripts/servers/rgw.js';
import { openStore } from '../src/store/open-store.js';
import { createS3Client } from '../src/store/s3-store.js';
import type { Store } from '../src/store/store.js';
import { cpFiles, curlTransfer, type CurlTarget } from './lib/curl.js';
import { printTable, seconds, spread } from './lib/stats.js';
import { timeStore, type BenchObject } from './lib/store-timing.js';

/** What `npm run bench -- store --help` prints: the synopsis, then what it measures. */
export const usage = "npm run bench -- store [--reps N]\nPut and get through each store (directory, HTTP, S3 on Ceph RGW) beside its peer on the same objects: `cp` for the directory, `curl` for HTTP and S3 (SigV4).";

const MB = 1 << 20;

interface Case {
  name: string;
  objects: BenchObject[];
}

interface Backend {
  name: string;
  store: Store;
  /** The plain tool doing the same transfer: `cp` for the directory store, `curl` for the HTTP ones. */
  peer: { name: string; put(c: Case): Promise<number>; get(c: Case): Promise<number> };
}

async function makeCase(dir: string, name: string, count: number, size: number): Promise<Case> {
  const caseDir = join(dir, name.replace(/\W+/g, '-'));
  await mkdir(caseDir, { recursive: true });
  const objects: BenchObject[] = [];
  for (let i = 0; i < count; i++) {
    const bytes = randomBytes(size);
    const path = join(caseDir, `o${i}`);
    await writeFile(path, bytes);
    objects.push({ key: `bench/${caseDir.split('/').at(-1)}/o${i}`, path, size, ...(size <= 8 * MB ? { bytes } : {}) });
  }
  return { name, objects };
}

function curlPeer(name: string, target: CurlTarget, work: string): Backend['peer'] {
  const files = (c: Case): Array<{ key: string; path: string }> => c.objects.map((o) => ({ key: o.key, path: o.path }));
  return {
    name,
    put: (c) => seconds(() => curlTransfer(target, 'put', files(c), work)),
    get: (c) => seconds(() => curlTransfer(target, 'get', files(c), work)),
  };
}

function cpPeer(work: string): Backend['peer'] {
  const into = join(work, 'cp-root');
  const back = join(work, 'cp-back');
  return {
    name: 'cp',
    put: async (c) => {
      await mkdir(into, { recursive: true });
      return seconds(() => cpFiles(c.objects.map((o) => o.path), into));
    },
    get: async (c) => {
      await mkdir(back, { recursive: true });
      return seconds(() => cpFiles(c.objects.map((o) => join(into, o.path.split('/').at(-1) ?? '')), back));
    },
  };
}

/** The HTTP store server in its own process, so client and server do not share an event loop. */
async function startServerProcess(root: string): Promise<{ url: string; close(): Promise<void> }> {
  const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'servers', 'http-store-server-cli.js');
  const child = spawn(process.execPath, [cli, root, '--writable'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [first] = (await once(child.stdout, 'data')) as [Buffer];
  return {
    url: first.toString().trim(),
    close: async () => {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}

/** `npm run bench -- store [--reps N]`: put/get throughput of each backend beside cp and curl. */
export async function run(args: string[]): Promise<void> {
  const repsAt = args.indexOf('--reps');
  const reps = repsAt >= 0 ? Math.max(1, Number(args[repsAt + 1])) : 3;
  const work = await mkdtemp(join(tmpdir(), 'flotilla-bench-store-'));
  const cleanups: Array<() => Promise<void>> = [() => rm(work, { recursive: true, force: true })];
  try {
    process.stdout.write(`preparing data and servers in ${work}…\n`);
    const cases = [
      await makeCase(work, '1 MB', 1, MB),
      await makeCase(work, '64 MB', 1, 64 * MB),
      await makeCase(work, '2000 x 4 KB', 2000, 4096),
    ];
    const rgw = await startRgw();
    cleanups.unshift(() => rgw.stop());
    process.stdout.write(`Ceph RGW up in ${(rgw.startMs / 1000).toFixed(1)} s at ${rgw.endpoint}\n`);
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: rgw.accessKey, AWS_SECRET_ACCESS_KEY: rgw.secretKey, AWS_REGION: rgw.region });
    const bucket = 'flotilla-bench';
    const admin = createS3Client({ bucket, prefix: '', endpoint: rgw.endpoint, url: rgw.endpoint });
    await admin.send(new CreateBucketCommand({ Bucket: bucket }));
    admin.destroy();
    const http = await startServerProcess(join(work, 'http-root'));
    cleanups.unshift(() => http.close());
    const s3 = { accessKey: rgw.accessKey, secretKey: rgw.secretKey, region: rgw.region };
    const backends: Backend[] = [
      { name: 'directory', store: openStore(join(work, 'fs-root')), peer: cpPeer(work) },
      {
        name: 's3 (Ceph RGW)',
        store: openStore(`s3://${bucket}/?endpoint=${encodeURIComponent(rgw.endpoint)}&region=${rgw.region}`),
        peer: curlPeer('curl (SigV4)', { base: `${rgw.endpoint}/${bucket}/`, s3 }, work),
      },
      { name: 'http', store: openStore(http.url, { writable: true }), peer: curlPeer('curl', { base: http.url }, work) },
    ];
    const rows: Array<Array<string | number>> = [];
    for (const c of cases) {
      const bytes = c.objects.reduce((n, o) => n + o.size, 0);
      const mbps = (xs: number[]): string => spread(xs.map((t) => bytes / MB / t), 1);
      for (const b of backends) {
        const ours = { put: [] as number[], get: [] as number[] };
        const peer = { put: [] as number[], get: [] as number[] };
        for (let r = 0; r < reps; r++) {
          const t = await timeStore(b.store, c.objects);
          ours.put.push(t.put);
          ours.get.push(t.get);
          peer.put.push(await b.peer.put(c));
          peer.get.push(await b.peer.get(c));
        }
        const perSec = (xs: number[]): string => (c.objects.length > 1 ? spread(xs.map((t) => c.objects.length / t), 0) : '');
        rows.push([c.name, b.name, 'flotilla', mbps(ours.put), mbps(ours.get), perSec(ours.put), perSec(ours.get)]);
        rows.push([c.name, b.name, b.peer.name, mbps(peer.put), mbps(peer.get), perSec(peer.put), perSec(peer.get)]);
      }
    }
    process.stdout.write(`\nstore throughput, ${reps} runs each, median (min–max); 16 transfers in flight for batches\n`);
    printTable(['case', 'backend', 'tool', 'put MB/s', 'get MB/s', 'put obj/s', 'get obj/s'], rows);
    process.stdout.write(
      '\nnotes: directory puts fsync file and directory (cp does not); RGW runs a memstore OSD on this host;\n' +
        'curl uses one process with --parallel (keep-alive), flotilla 16 concurrent requests over keep-alive.\n',
    );
    for (const b of backends) await b.store.close();
  } finally {
    for (const c of cleanups) await c().catch(() => undefined);
  }
}
