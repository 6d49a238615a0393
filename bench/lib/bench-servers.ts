// Servers of the fetch benchmark, each in its own process (so no client shares their event loop), stopped
// by their own pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../../src/store/s3-store.js';
import { openStore } from '../../src/store/open-store.js';
import { listAll } from '../../src/store/store.js';

const HTTP_SERVER = fileURLToPath(new URL('../../scripts/servers/http-store-server-cli.js', import.meta.url));

/** A static HTTP server over a directory (the project's own, serving a directory store's files). */
export interface StaticServer {
  url: string;
  stop(): Promise<void>;
}

/** Serves `root` on a loopback port from a child process; resolves with its URL once it listens. */
export function startStaticServer(root: string): Promise<StaticServer> {
  const child: ChildProcess = spawn(process.execPath, [HTTP_SERVER, root], { stdio: ['ignore', 'pipe', 'inherit'] });
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  process.once('exit', () => child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line !== undefined) resolve({ url: line.trim(), stop });
    });
    child.once('exit', (code) => reject(new Error(`static server for ${root} exited ${code}`)));
  });
}

/** An S3 store on Ceph RGW: the shared one named by FLOTILLA_TEST_S3_* (/work/shared-rgw/env.sh), else a new one. */
export interface RgwStore {
  url: string;
  /** AWS_* credentials for child processes. */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

/** Opens (or starts) RGW and creates a fresh bucket; undefined with a printed reason when none can be had. */
export async function openRgwStore(bucket: string): Promise<RgwStore | undefined> {
  try {
    let rgw: { endpoint: string; accessKey: string; secretKey: string; region: string; stop(): Promise<void> };
    const e = process.env;
    if (e['FLOTILLA_TEST_S3_ENDPOINT'] && e['FLOTILLA_TEST_S3_ACCESS_KEY'] && e['FLOTILLA_TEST_S3_SECRET_KEY']) {
      rgw = { endpoint: e['FLOTILLA_TEST_S3_ENDPOINT'], accessKey: e['FLOTILLA_TEST_S3_ACCESS_KEY'], secretKey: e['FLOTILLA_TEST_S3_SECRET_KEY'], region: e['FLOTILLA_TEST_S3_REGION'] ?? 'us-east-1', stop: () => Promise.resolve() };
    } else {
      const { startRgw } = await import('../../scripts/servers/rgw.js');
      rgw = await startRgw();
    }
    const creds = { AWS_ACCESS_KEY_ID: rgw.accessKey, AWS_SECRET_ACCESS_KEY: rgw.secretKey, AWS_REGION: rgw.region };
    Object.assign(process.env, creds);
    const client = createS3Client({ bucket, prefix: '', endpoint: rgw.endpoint, region: rgw.region, url: rgw.endpoint });
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    client.destroy();
    const q = new URLSearchParams({ endpoint: rgw.endpoint, region: rgw.region, forcePathStyle: 'true' });
    const url = `s3://${bucket}/?${q.toString()}`;
    // The shared RGW keeps its objects in memory (memstore): empty the bucket before leaving.
    const empty = async (): Promise<void> => {
      const store = openStore(url);
      try {
        const keys: string[] = [];
        for await (const o of listAll(store, '')) keys.push(o.key);
        for (const k of keys) await store.delete(k);
      } finally {
        await store.close();
      }
    };
    return { url, env: { ...process.env, ...creds }, stop: () => empty().finally(() => rgw.stop()) };
  } catch (err) {
    process.stdout.write(`RGW not available, skipping it: ${(err as Error).message.split('\n')[0]}\n`);
    return undefined;
  }
}
