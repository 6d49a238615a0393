import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

// Decompressing through the system's own `zstd -dc` / `xz -dc` runs the codec natively on another core while
// this process hashes and unpacks: on a 150 MB closure pure-JS zstd cost 3× Nix's whole copy. The tool only
// ever sees the compressed bytes, and its output (read by tool-reader.ts) is untrusted like any other (capped
// at NarSize and hashed by the caller), so a broken or hostile tool can fail a fetch but never pass one.

/** The system tools used per compression, with their arguments (read stdin, write stdout, never a file). */
const TOOLS = { zstd: ['zstd', ['-dcq', '--no-progress']], xz: ['xz', ['-dcq']], bzip2: ['bzip2', ['-dcq']] } as const;
export type ToolCompression = keyof typeof TOOLS;

/** The last bytes of a tool's stderr kept to quote in its error (tool-reader.ts keeps as many). */
export const STDERR_KEEP = 2048;
const found = new Map<string, string | null>();

/** The absolute path of `name` on PATH (looked up once per process), or null when it is not there. */
export function findTool(name: string, path = process.env['PATH'] ?? '/usr/bin:/bin'): string | null {
  const key = `${name}\0${path}`;
  const hit = found.get(key);
  if (hit !== undefined) return hit;
  let at: string | null = null;
  for (const dir of path.split(delimiter)) {
    if (dir === '' || !dir.startsWith('/')) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      at = join(dir, name);
      break;
    } catch {
      // not in this directory
    }
  }
  found.set(key, at);
  return at;
}

/** The system tool for `compression` (absolute path and arguments), or null when it is not installed. */
export function systemDecompressor(compression: ToolCompression): { file: string; args: readonly string[] } | null {
  const [name, args] = TOOLS[compression];
  const file = findTool(name);
  return file === null ? null : { file, args };
}

/**
 * What `file args` prints when it reads the open file `stdinFd` as its stdin (a checksum tool), once it
 * exited 0. Rejects with an Error quoting its stderr on a nonzero exit or a signal; `signal` kills it.
 */
export function toolOutput(file: string, args: readonly string[], stdinFd: number, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, [...args], { stdio: [stdinFd, 'pipe', 'pipe'], ...(signal ? { signal } : {}) });
    let out = '';
    let err = '';
    child.stdout?.on('data', (b: Buffer) => (out = (out + b.toString('utf8')).slice(-STDERR_KEEP)));
    child.stderr?.on('data', (b: Buffer) => (err = (err + b.toString('utf8')).slice(-STDERR_KEEP)));
    child.on('error', (e) => reject(new Error(`${file} could not run: ${e.message}`)));
    child.on('close', (code, sig) => (code === 0 ? resolve(out) : reject(new Error(`${file} ${args.join(' ')} failed (${sig ?? `exit ${code}`}): ${err.trim() || 'no message'}`))));
  });
}
