import { spawn } from 'node:child_process';

import { createDeployWorld, type DeployWorld } from '../../scripts/world/deploy-world.js';
import { CLI } from './cli-bin.js';
import { s3TestUrl } from './s3-test-store.js';

// The world itself is the shared recipe in scripts/world; tests add the built CLI as a process.
export { createDeployWorld, repoConfigYaml, type DeployWorld } from '../../scripts/world/deploy-world.js';

/** The stores an end-to-end world runs on, for describe.each: a directory store, and Ceph RGW (a fresh bucket, below `prefix`). */
export function worldBackends(prefix: string): Array<{ backend: string; makeWorld: () => Promise<DeployWorld> }> {
  return [
    { backend: 'directory store', makeWorld: () => createDeployWorld() },
    { backend: 'Ceph RGW', makeWorld: async () => createDeployWorld({ storeUrl: await s3TestUrl(prefix) }) },
  ];
}

export { CLI } from './cli-bin.js';

/** Result of running the CLI as a real process. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `flotilla ARGS` as a child process and collects its output. */
export function runCli(args: string[], options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? process.cwd(),
      env: { ...process.env, FLOTILLA_LOG_LEVEL: 'warn', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code: code ?? -1, stdout, stderr });
    });
  });
}
