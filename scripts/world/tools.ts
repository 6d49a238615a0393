// Running external tools (git, ssh-keygen, gpg) for tests, benchmarks and the demo's world, isolated from
// the machine's own configuration.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Options of one external tool run. `env` is laid over an isolated base environment. */
export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  input?: string | Uint8Array;
  /** Return stdout as raw bytes instead of text. */
  binary?: boolean;
}

/**
 * The environment every tool runs with: the caller's PATH and locale, but no git/gpg/ssh settings of the
 * machine (system and global git config off, HOME pointing nowhere), so a developer's config never leaks in.
 */
export function isolatedEnv(extra: Record<string, string> = {}): Record<string, string> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('GIT_') || k === 'GNUPGHOME' || k.startsWith('SSH_')) continue;
    base[k] = v;
  }
  return {
    ...base,
    HOME: '/nonexistent-flotilla-test-home',
    XDG_CONFIG_HOME: '/nonexistent-flotilla-test-home',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    LC_ALL: 'C',
    ...extra,
  };
}

/** Runs a tool and returns its stdout; rejects with its stderr when it exits non-zero. */
export function runTool(cmd: string, args: string[], options?: RunOptions & { binary?: false }): Promise<string>;
export function runTool(cmd: string, args: string[], options: RunOptions & { binary: true }): Promise<Buffer>;
export function runTool(cmd: string, args: string[], options: RunOptions = {}): Promise<string | Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd, env: isolatedEnv(options.env), stdio: 'pipe' });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      const stdout = Buffer.concat(out);
      if (code === 0) resolve(options.binary ? stdout : stdout.toString('utf8'));
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${Buffer.concat(err).toString('utf8')}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** A temp directory under os.tmpdir() and its removal. */
export interface Scratch {
  path: string;
  cleanup(): Promise<void>;
}

/** Makes a fresh temp directory `flotilla-PREFIX-…`. Call cleanup() in afterAll/afterEach. */
export async function makeScratch(prefix = 'git'): Promise<Scratch> {
  const path = await mkdtemp(join(tmpdir(), `flotilla-${prefix}-`));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}
