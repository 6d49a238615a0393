import { PassThrough } from 'node:stream';
import { runCli } from '../../src/cli/main.js';

/** What one in-process CLI call printed and returned. */
export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** Runs `flotilla ARGV` in this process (no build needed), capturing stdout and stderr. */
export async function runCliInProcess(argv: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await runCli(argv, { stdout, stderr, env: { FLOTILLA_LOG_LEVEL: 'silent', ...options.env }, cwd: options.cwd ?? process.cwd() });
  return { code, out, err };
}
