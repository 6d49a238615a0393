// Entry point of the daemon's tick worker process (forked by worker-client.ts with an IPC channel).
import { takeDeferredCaCerts, trustDeferredCaCerts } from '../util/deferred-ca-certs.js';
import { isEntryPoint } from '../util/entry-point.js';
import type { WorkerChannel } from './tick-worker.js';
import type { FromWorker } from './worker-protocol.js';
import { compileTickWorker } from './load-tick-worker.js';
import { tuneWorkerV8 } from './worker-v8-flags.js';

/** How long a worker that has finished may take to leave before it exits anyway (open sockets, timers). */
const EXIT_GRACE_MS = 2000;

async function main(): Promise<void> {
  // The worker's own modules (tick-worker.js and all it reaches) are compiled first, from the bundle's code
  // cache, which V8 checks against the flags of that moment; then the flags are set, after the built-ins
  // are loaded (each keeps Node's code cache); then those modules run, with a small young generation.
  const body = compileTickWorker();
  tuneWorkerV8();
  // Forked with NODE_EXTRA_CA_CERTS deferred (worker-client.ts): back in the env for the commands it runs,
  // and trusted by its TLS clients (git, the stores, health checks, notifications) from their first connection.
  takeDeferredCaCerts();
  trustDeferredCaCerts();
  if (process.send === undefined) {
    process.stderr.write('flotilla: the tick worker runs only as a child of `flotilla agent`\n');
    process.exitCode = 2;
    return;
  }
  const { runTickWorker } = await body.load();
  let unsent = Promise.resolve();
  const channel: WorkerChannel = {
    send: (message: FromWorker) => {
      unsent = unsent.then(() => new Promise<void>((done) => void process.send?.(message, undefined, {}, () => done())));
    },
    on: (event: string, listener: (m: unknown) => void) => void process.on(event as 'message', listener),
  };
  const code = await runTickWorker(channel, process.env, { codeCache: body.cached });
  // The last reply must reach the supervisor before the channel closes.
  await unsent;
  process.exitCode = code;
  process.disconnect?.();
  setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
}

if (isEntryPoint(import.meta.url)) void main();
