import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A `sync` first on PATH that writes a line to its log on each run (see loggingSync). */
export interface LoggingSync {
  /** The log's lines, in order. */
  lines(): Promise<string[]>;
  /** Puts PATH back as it was. */
  restore(): void;
}

/**
 * Puts a `sync` of the test's own first on PATH, in `dir`/bin: `body` is its shell script after the
 * shebang, with LOG standing for the log's path (`dir`/sync.log). By default it logs its arguments and
 * runs the real one, so the flushes a test counts are real processes.
 */
export async function loggingSync(dir: string, body = 'echo "$*" >> LOG\nexec /usr/bin/sync "$@"\n'): Promise<LoggingSync> {
  const bin = join(dir, 'bin');
  const log = join(dir, 'sync.log');
  await mkdir(bin, { recursive: true });
  await writeFile(log, '');
  await writeFile(join(bin, 'sync'), `#!/bin/sh\n${body.replaceAll('LOG', `'${log}'`)}`);
  await chmod(join(bin, 'sync'), 0o755);
  const path = process.env['PATH'];
  process.env['PATH'] = `${bin}:${path ?? ''}`;
  return {
    lines: async () => (await readFile(log, 'utf8')).split('\n').filter((l) => l !== ''),
    restore: () => {
      process.env['PATH'] = path;
    },
  };
}
