import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** How curl reaches a server: base URL ending with '/', plus SigV4 keys for S3 (RGW). */
export interface CurlTarget {
  base: string;
  s3?: { accessKey: string; secretKey: string; region: string };
}

function authArgs(t: CurlTarget): string[] {
  if (t.s3 === undefined) return [];
  // curl signs with SigV4 but needs the payload-hash header spelled out for S3.
  const { accessKey, secretKey, region } = t.s3;
  return ['--aws-sigv4', `aws:amz:${region}:s3`, '--user', `${accessKey}:${secretKey}`, '-H', 'x-amz-content-sha256: UNSIGNED-PAYLOAD'];
}

/**
 * One curl process transferring `files` (key ↔ local path) to or from `t`, up to `parallel` at once (curl
 * --parallel, reusing connections). Downloads go to /dev/null. Rejects if any transfer is not 2xx.
 */
export async function curlTransfer(
  t: CurlTarget,
  direction: 'put' | 'get',
  files: Array<{ key: string; path: string }>,
  workDir: string,
  parallel = 16,
): Promise<void> {
  const conf = join(workDir, `curl-${direction}.conf`);
  const lines = files.map(({ key, path }) =>
    direction === 'put'
      ? `url = "${t.base}${key}"\nupload-file = "${path}"\noutput = "/dev/null"\n`
      : `url = "${t.base}${key}"\noutput = "/dev/null"\n`,
  );
  await writeFile(conf, lines.join(''));
  const args = ['-sS', '--fail', '--parallel', '--parallel-max', String(parallel), ...authArgs(t), '-K', conf];
  await exec('curl', args, { maxBuffer: 64 << 20 });
}

/** `cp` of the same files into `destDir` (one process, like a user would): the floor for the directory store. */
export async function cpFiles(paths: string[], destDir: string): Promise<void> {
  await exec('cp', ['-f', ...paths, destDir], { maxBuffer: 16 << 20 });
}
