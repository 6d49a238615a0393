import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createS3Client } from '../../src/store/s3-store.js';

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
type S3rverClass = new (options: { address: string; port: number; directory: string; silent: boolean }) => S3rverInstance;

/** A running s3rver (an S3 server that IGNORES preconditions) with one bucket, and its s3:// store URL. */
export interface S3rverBucket {
  storeUrl: string;
  close(): Promise<void>;
}

/**
 * Starts s3rver in-process on 127.0.0.1 with a fresh bucket, and sets this process's AWS_* keys to its
 * fixed credentials (child processes inherit them). Use only to prove that Flotilla refuses it.
 */
export async function startS3rverBucket(bucket: string): Promise<S3rverBucket> {
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-s3rver-'));
  const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory: dir, silent: true });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  const admin = createS3Client({ bucket, prefix: '', endpoint, url: endpoint });
  try {
    await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    admin.destroy();
  }
  return {
    storeUrl: `s3://${bucket}/?endpoint=${encodeURIComponent(endpoint)}&region=us-east-1&forcePathStyle=true`,
    async close() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
