// The benchmarks' handle on lib/warm-fetcher.ts: started with the environment the agent's tick worker has
// (a worker inherits the supervisor's UV_THREADPOOL_SIZE, which the CLI sets to 16), ready once it has
// loaded the fetch code, asked for one fetch at a time, timed from this side as the one-shot processes are.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const WARM_FETCHER = fileURLToPath(new URL('./warm-fetcher.js', import.meta.url));

export interface WarmFetch {
  /** Wall time from writing the request to reading its answer, in this process. */
  seconds: number;
  exitCode: number;
  /** The fetch's --json output. */
  stdout: string;
}

export interface WarmFetcher {
  /** Resolves once the process has loaded the fetch bundle (Node started, the code compiled); rejects if it exits first. */
  readonly ready: Promise<void>;
  /** Runs `flotilla fetch ARGS` in the warm process; rejects when it answers with a nonzero exit or exits. */
  fetch(args: readonly string[]): Promise<WarmFetch>;
  /** Ends its input and waits for it to exit. */
  close(): Promise<void>;
}

/** Starts the warm fetcher (`script`: the built warm-fetcher.js, beside this module's build by default). */
export function startWarmFetcher(script = WARM_FETCHER): WarmFetcher {
  const child = spawn(process.execPath, [script], { env: { ...process.env, UV_THREADPOOL_SIZE: '16' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => void (stderr += String(c)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const ready = lines.next().then((first) => {
    if (first.done === true || first.value !== 'ready') throw new Error(`the warm fetcher did not start: ${stderr.trim() || String(first.value)}`);
  });
  let queue: Promise<unknown> = ready;
  const ask = async (args: readonly string[]): Promise<WarmFetch> => {
    const t0 = performance.now();
    child.stdin.write(`${JSON.stringify(args)}\n`);
    const next = await lines.next();
    const seconds = (performance.now() - t0) / 1000;
    if (next.done === true) throw new Error(`the warm fetcher exited: ${stderr.trim() || 'no message'}`);
    const reply = JSON.parse(next.value) as Omit<WarmFetch, 'seconds'>;
    if (reply.exitCode !== 0) throw new Error(`warm fetch ${args.join(' ')} exited ${reply.exitCode}: ${reply.stdout.slice(0, 500)}`);
    return { ...reply, seconds };
  };
  return {
    ready,
    fetch(args) {
      // One request at a time: replies come in order, one line each.
      const answer = queue.then(() => ask(args));
      queue = answer.catch(() => undefined);
      return answer;
    },
    async close() {
      child.stdin.end();
      await exited;
      await ready.catch(() => undefined);
    },
  };
}
