// A process for `npm run bench -- nix` that runs `flotilla fetch` requests one after another through the
// fetch bundle's own runCli (dist/bin/flotilla-fetch.js, the code the bin runs), with the V8 flags the
// agent's tick worker sets as it starts (tuneWorkerV8). It says `ready` once the bundle is loaded: from
// then on a request costs what a fetch costs in an agent's tick worker, which the supervisor forks for a
// tick, Node started and the code loaded, rather than what a one-shot process pays on top (its start and
// module loading).
//
//   node warm-fetcher.js      then one JSON array of fetch arguments per stdin line
//
// Prints `ready`, then answers each line with one JSON line on stdout: {"seconds", "exitCode", "stdout"}
// (the fetch's --json output); exits when stdin ends. A line that is not a JSON array of strings ends it
// with exit 1.
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { runCli as RunCli } from '../../src/cli/main.js';
import { tuneWorkerV8 } from '../../src/agent/worker-v8-flags.js';
import { compileWithCodeCache } from '../../src/cli/code-cache.js';

const BUNDLE = fileURLToPath(new URL('../../bin/flotilla-fetch.js', import.meta.url));
const BUNDLE_CACHE = fileURLToPath(new URL('../../bin/flotilla-fetch.cache', import.meta.url));

/** A sink that keeps what is written to it as text. */
function collector(): { stream: Writable; text: () => string } {
  let out = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, done): void {
      out += String(chunk);
      done();
    },
  });
  return { stream, text: () => out };
}

function argvOf(line: string): string[] {
  const argv: unknown = JSON.parse(line);
  if (!Array.isArray(argv) || !argv.every((a): a is string => typeof a === 'string')) throw new Error(`warm-fetcher: not a JSON array of strings: ${line.slice(0, 200)}`);
  return argv;
}

async function main(): Promise<void> {
  // As the tick worker does with its body: the code compiled from its cache, the V8 flags set, the code run.
  const bundle = compileWithCodeCache(BUNDLE, BUNDLE_CACHE);
  tuneWorkerV8();
  const { runCli } = bundle.run() as { runCli: typeof RunCli };
  // Node started and the code loaded: from here a request costs what a fetch costs in an agent's worker.
  process.stdout.write('ready\n');
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() === '') continue;
    const argv = argvOf(line);
    const out = collector();
    const t0 = performance.now();
    const exitCode = await runCli(['fetch', ...argv], { stdout: out.stream, stderr: collector().stream, env: process.env, cwd: process.cwd() });
    const seconds = (performance.now() - t0) / 1000;
    process.stdout.write(`${JSON.stringify({ seconds, exitCode, stdout: out.text() })}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exitCode = 1;
  // The loop is left but stdin is still open, which would keep this process alive waiting for more.
  process.stdin.destroy();
});
