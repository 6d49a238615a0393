import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A benchmark module: bench/NAME.ts exporting `run(args)`; it prints its figures beside a floor or peer. */
export interface BenchModule {
  run(args: string[]): Promise<void>;
  /** Its synopsis (first line), then what it measures: printed for `--help` instead of a run. */
  usage: string;
}

const HELP = ['--help', '-h'];

const here = dirname(fileURLToPath(import.meta.url));

function available(): string[] {
  return readdirSync(here)
    .filter((f) => f.endsWith('.js') && f !== 'run.js')
    .map((f) => f.slice(0, -3))
    .sort();
}

async function main(): Promise<void> {
  // Same libuv thread pool as the CLI (src/cli/main.ts), so benchmarks measure what users run.
  process.env['UV_THREADPOOL_SIZE'] ??= '16';
  const [name, ...args] = process.argv.slice(2);
  const names = available();
  if (name !== undefined && HELP.includes(name)) {
    const mods = await Promise.all(names.map(async (n) => ((await import(`./${n}.js`)) as BenchModule).usage));
    process.stdout.write(`usage: npm run bench -- NAME [args]   (NAME --help: what it measures)\n\n${mods.map((u) => `  ${u.split('\n')[0] ?? ''}`).join('\n')}\n`);
    return;
  }
  if (name === undefined || !names.includes(name)) {
    process.stderr.write(`usage: npm run bench -- NAME [args]\navailable: ${names.join(', ')}\n`);
    process.exitCode = 2;
    return;
  }
  const mod = (await import(`./${name}.js`)) as BenchModule;
  if (args.some((a) => HELP.includes(a))) {
    process.stdout.write(`usage: ${mod.usage}\n`);
    return;
  }
  await mod.run(args);
}

void main();
