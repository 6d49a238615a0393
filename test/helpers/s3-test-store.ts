import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { createS3Client } from '../../src/store/s3-store.js';

/**
 * Creates a fresh, uniquely named bucket on the suite's S3 server (Ceph RGW from the global setup, or
 * FLOTILLA_TEST_S3_ENDPOINT), puts the server's keys into this test process's AWS_* environment (the S3
 * store reads the standard AWS credential chain), and returns an s3:// URL for `openStore`. `prefix`
 * (e.g. 'deep/prefix/') places the store below the bucket root. Buckets are left for the server's teardown.
 */
export async function s3TestUrl(prefix = ''): Promise<string> {
  const s3 = inject('s3');
  process.env.AWS_ACCESS_KEY_ID = s3.accessKey;
  process.env.AWS_SECRET_ACCESS_KEY = s3.secretKey;
  process.env.AWS_REGION = s3.region;
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  const bucket = `flotilla-test-${randomBytes(8).toString('hex')}`;
  const client = createS3Client({ bucket, prefix: '', endpoint: s3.endpoint, region: s3.region, url: s3.endpoint });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
  const q = new URLSearchParams({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: 'true' });
  return `s3://${bucket}/${prefix}?${q.toString()}`;
}
