import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Duplex } from 'node:stream';

// Decompressing through the system's own `zstd -dc` / `xz -dc` runs the codec natively on another core while
// this process hashes and unpacks: on a 150 MB closure pure-JS zstd cost 3× Nix's whole copy. The tool only
// ever sees the compressed bytes and writes to a pipe we read; its output is untrusted like any other (capped
// at NarSize and hashed by the caller), so a broken or hostile tool can fail a fetch but never pass one.

/** The system tools used per compression, with their arguments (read stdin, write stdout, never a file). */
const TOOLS = { zstd: ['zstd', ['-dcq', '--no-progress']], xz: ['xz', ['-dcq']], bzip2: ['bzip2', ['-dcq']] } as const;
export type ToolCompression = keyof typeof TOOLS;

const STDERR_KEEP = 2048;
/**
 * Once all input is written, how long the tool may go without output or exit before it is killed: the
 * download has its own deadlines, this one covers the tool itself hanging.
 */
const TOOL_IDLE_MS = 60_000;
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
 * A Duplex that pipes its input through `file args` (a decompressor reading stdin, writing stdout) with
 * backpressure both ways. It ends only after the tool exited 0; a nonzero exit, a signal or a spawn failure
 * destroys it with an Error quoting the tool's stderr. Destroying it (the pipeline failed, was aborted or hit
 * its deadline) kills the tool, so no child outlives the fetch; so does `idleMs` without output or exit
 * once the input has ended.
 */
export function toolStream(file: string, args: readonly string[], idleMs = TOOL_IDLE_MS): Duplex {
  const child: ChildProcessWithoutNullStreams = spawn(file, [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let pendingWrite: ((err?: Error | null) => void) | undefined;
  let exited = false;
  let idle: NodeJS.Timeout | undefined;
  const arm = (): void => {
    if (idle === undefined) return;
    idle.refresh();
  };
  const release = (): void => {
    const cb = pendingWrite;
    pendingWrite = undefined;
    cb?.();
  };
  const d = new Duplex({
    // Our reads are the NAR parser's: 1 MiB keeps the tool busy between them without holding much.
    readableHighWaterMark: 1 << 20,
    write(chunk: Buffer, _e, cb): void {
      if (exited || child.stdin.destroyed) return cb();
      if (child.stdin.write(chunk)) return cb();
      pendingWrite = cb;
      child.stdin.once('drain', release);
    },
    final(cb): void {
      child.stdin.end();
      idle = setTimeout(() => d.destroy(new Error(`${file} ${args.join(' ')} produced nothing for ${idleMs} ms after its input ended`)), idleMs);
      cb();
    },
    read(): void {
      arm();
      child.stdout.resume();
    },
    destroy(err, cb): void {
      clearTimeout(idle);
      if (!exited) child.kill('SIGKILL');
      release();
      cb(err);
    },
  });
  // A tool that stops reading (it failed) makes our writes fail with EPIPE; its exit status says why, so the
  // write side just stops and the read side reports.
  child.stdin.on('error', release);
  child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString('utf8')).slice(-STDERR_KEEP)));
  child.stdout.on('data', (b: Buffer) => {
    arm();
    if (!d.push(b)) child.stdout.pause();
  });
  child.on('error', (err) => {
    exited = true;
    d.destroy(new Error(`${file} could not run: ${err.message}`));
  });
  child.on('close', (code, signal) => {
    exited = true;
    clearTimeout(idle);
    release();
    if (d.destroyed) return;
    if (code === 0) d.push(null);
    else d.destroy(new Error(`${file} ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${stderr.trim() || 'no message'}`));
  });
  return d;
}
