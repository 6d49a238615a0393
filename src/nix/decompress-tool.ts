import { spawn } from 'node:child_process';
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

/** The tool's output is handed on in pieces of at least this many bytes (the last one excepted). */
const HAND_ON_BYTES = 512 * 1024;

/**
 * A Duplex that pipes its input through `file args` (a decompressor reading stdin, writing stdout) with
 * backpressure both ways. It ends only after the tool exited 0; a nonzero exit, a signal or a spawn failure
 * destroys it with an Error quoting the tool's stderr. Destroying it (the pipeline failed, was aborted or hit
 * its deadline) kills the tool, so no child outlives the fetch; so does `idleMs` without output or exit
 * once the input has ended. With `stdinFd` (an open file) the tool reads that file itself as its stdin:
 * nothing is written to the Duplex, whose input the caller ends at once.
 */
export function toolStream(file: string, args: readonly string[], idleMs = TOOL_IDLE_MS, stdinFd?: number): Duplex {
  const child = spawn(file, [...args], { stdio: [stdinFd ?? 'pipe', 'pipe', 'pipe'] });
  const { stdin, stdout, stderr: errOut } = child;
  if (stdout === null || errOut === null) throw new Error(`${file}: no pipes`);
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
    // Done only once the pipe took every byte of `chunk` (not when stdin merely buffered it): a writer may
    // then reuse its buffer (buffered-nar.ts reads into one).
    write(chunk: Buffer, _e, cb): void {
      if (exited || stdin === null || stdin.destroyed) return cb();
      pendingWrite = cb;
      stdin.write(chunk, release);
    },
    final(cb): void {
      stdin?.end();
      idle = setTimeout(() => d.destroy(new Error(`${file} ${args.join(' ')} produced nothing for ${idleMs} ms after its input ended`)), idleMs);
      cb();
    },
    read(): void {
      arm();
      stdout.resume();
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
  stdin?.on('error', release);
  errOut.on('data', (b: Buffer) => (stderr = (stderr + b.toString('utf8')).slice(-STDERR_KEEP)));
  // The tool's output arrives in 64 KiB reads (a pipe's size); each chunk then costs the stream, the
  // hash and the NAR parser a round of promises. Handed on in 512 KiB pieces instead, one copy each: one
  // 50 MB zstd path changed 295–316 → 285–291 ms, a cold 150 MB closure 594 → 572 ms (docs/nix.md).
  let held: Buffer[] = [];
  let heldBytes = 0;
  const handOn = (): boolean => {
    if (heldBytes === 0) return true;
    const b = held.length === 1 ? (held[0] as Buffer) : Buffer.concat(held, heldBytes);
    held = [];
    heldBytes = 0;
    return d.push(b);
  };
  stdout.on('data', (b: Buffer) => {
    arm();
    held.push(b);
    heldBytes += b.length;
    if (heldBytes >= HAND_ON_BYTES && !handOn()) stdout.pause();
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
    if (code === 0) {
      handOn();
      d.push(null);
    } else {
      d.destroy(new Error(`${file} ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${stderr.trim() || 'no message'}`));
    }
  });
  return d;
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
