import { Writable } from 'node:stream';
import { COMMANDS } from './commands.js';
import { runCli } from './main.js';
import type { HelpTable } from './quick-help.js';

/** stdout and exit code of one in-process run of the CLI, with an empty environment and no terminal. */
async function capture(argv: string[]): Promise<{ stdout: string; code: number }> {
  let stdout = '';
  const sink = (onText: (s: string) => void): Writable =>
    new Writable({
      write(chunk: Buffer | string, _enc, done): void {
        onText(chunk.toString());
        done();
      },
    });
  const code = await runCli(argv, { stdout: sink((s) => (stdout += s)), stderr: sink(() => undefined), env: {}, cwd: '/' });
  return { stdout, code };
}

/**
 * The help table of quick-help.ts, taken from what the CLI itself prints for `--help` and for every verb
 * of the COMMANDS table with `--help` (run in-process, each verb's module loaded), so it cannot drift from
 * the real help. Fails when a verb's help does not exit 0.
 */
export async function snapshotHelp(): Promise<HelpTable> {
  const top = await capture(['--help']);
  if (top.code !== 0) throw new Error(`flotilla --help exited ${top.code}`);
  const verbs: Record<string, string> = {};
  for (const entry of COMMANDS) {
    const r = await capture([...entry.name.split(' '), '--help']);
    if (r.code !== 0) throw new Error(`flotilla ${entry.name} --help exited ${r.code}`);
    verbs[entry.name] = r.stdout;
  }
  return { top: top.stdout, verbs };
}
