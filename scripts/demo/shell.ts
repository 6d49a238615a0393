import { spawn } from 'node:child_process';
import type { Narrator } from './narrator.js';

/** The result of one command the demo ran. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of one command: where it runs, extra environment, which exit codes are expected. */
export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Exit codes that are part of the story (default [0]); any other code fails the demo. */
  codes?: number[];
  /** Show stdout/stderr under the command (default true). */
  show?: boolean;
  /** The line printed instead of the real argv (e.g. `flotilla …` for `node dist/bin/flotilla.js …`). */
  display?: string;
}

/** Runs commands, printing each command line before it runs and its output after. */
export interface Shell {
  /** Runs `cmd args`; throws (with the output) when the exit code is not one of `codes`. */
  run(cmd: string, args: string[], options?: RunOptions): Promise<Ran>;
  /** Runs the Flotilla CLI (`flotilla args`). */
  flotilla(args: string[], options?: RunOptions): Promise<Ran>;
  /** Refuses every later command (after Ctrl-C, so an abandoned step cannot start anything new). */
  halt(): void;
}

/** Quotes an argument for display only when a shell would need it. */
export function quoteArg(arg: string): string {
  return /^[A-Za-z0-9_./:=@,+%-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

function exec(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Ran> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

/**
 * A shell for the demo. `cliPath` is the built CLI (dist/bin/flotilla.js, the package's bin), run with this Node; `cwd` is
 * the demo's root, so the printed command lines can use short relative paths.
 */
export function createShell(narrator: Narrator, cliPath: string, cwd: string): Shell {
  let halted = false;
  const shell: Shell = {
    async run(cmd, args, options = {}) {
      if (halted) throw new Error('interrupted');
      narrator.command(options.display ?? [cmd, ...args].map(quoteArg).join(' '));
      const r = await exec(cmd, args, options.cwd ?? cwd, { ...process.env, FLOTILLA_LOG_LEVEL: 'warn', ...options.env });
      const codes = options.codes ?? [0];
      if (options.show !== false || !codes.includes(r.code)) narrator.output(`${r.stdout}${r.stderr}`);
      if (r.code !== 0 && codes.includes(r.code)) narrator.output(`(exit ${r.code})`);
      if (!codes.includes(r.code)) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code} (expected ${codes.join(' or ')})`);
      return r;
    },
    flotilla(args, options = {}) {
      return shell.run(process.execPath, [cliPath, ...args], { display: ['flotilla', ...args].map(quoteArg).join(' '), ...options });
    },
    halt() {
      halted = true;
    },
  };
  return shell;
}
