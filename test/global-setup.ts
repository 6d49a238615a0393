import type { TestProject } from 'vitest/node';
import { startRgw } from './helpers/rgw.js';

/** The S3 server every test file shares (Ceph RGW started here, or an external one from the environment). */
export interface TestS3Server {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    s3: TestS3Server;
  }
}

/** An external S3 server from FLOTILLA_TEST_S3_ENDPOINT (+ _ACCESS_KEY, _SECRET_KEY, _REGION), if given. */
function externalS3(): TestS3Server | undefined {
  const endpoint = process.env.FLOTILLA_TEST_S3_ENDPOINT;
  if (endpoint === undefined || endpoint === '') return undefined;
  const accessKey = process.env.FLOTILLA_TEST_S3_ACCESS_KEY ?? process.env.AWS_ACCESS_KEY_ID;
  const secretKey = process.env.FLOTILLA_TEST_S3_SECRET_KEY ?? process.env.AWS_SECRET_ACCESS_KEY;
  if (!accessKey || !secretKey) {
    throw new Error('FLOTILLA_TEST_S3_ENDPOINT is set but FLOTILLA_TEST_S3_ACCESS_KEY / FLOTILLA_TEST_S3_SECRET_KEY are not');
  }
  return { endpoint, accessKey, secretKey, region: process.env.FLOTILLA_TEST_S3_REGION ?? 'us-east-1' };
}

// Global setup for the whole suite. Servers shared by many test files (Ceph RGW) are started here once;
// each registers its own start/stop in test/helpers/. Per-file servers (git http-backend) start in the file.
// A missing S3 server fails the run (startRgw's message says how to get one): never a silent skip.
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const teardowns: Array<() => Promise<void>> = [];
  const external = externalS3();
  if (external !== undefined) {
    project.provide('s3', external);
  } else {
    const rgw = await startRgw();
    teardowns.push(() => rgw.stop());
    process.stderr.write(`global-setup: Ceph RGW at ${rgw.endpoint} started in ${(rgw.startMs / 1000).toFixed(1)} s\n`);
    project.provide('s3', { endpoint: rgw.endpoint, accessKey: rgw.accessKey, secretKey: rgw.secretKey, region: rgw.region });
  }
  return async () => {
    for (const t of teardowns.reverse()) await t();
  };
}
