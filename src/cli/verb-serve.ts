import { UsageError } from '../errors/index.js';
import { startFleetServer } from '../fleet/fleet-server.js';
import { DEFAULT_STALE_AFTER_MS } from '../status/readiness.js';
import { stringOption, type Command } from './command.js';
import { durationOption } from './duration-option.js';
import { openFleetSource } from './fleet-source.js';
import { listenOption } from './listen-option.js';

/** Where the page is served when --listen is not given: this machine only. */
export const DEFAULT_LISTEN = { host: '127.0.0.1', port: 8089 };

/** `flotilla serve`: the fleet page over HTTP, read-only, updating itself. */
export const command: Command = {
  name: 'serve',
  summary: 'serve a live, read-only fleet page (sets, machines, batches, slots, quarantines) over HTTP',
  usage: 'flotilla serve [SET...] [--listen HOST:PORT] [--repo DIR|URL] [--store URL] [--json]',
  description: `Reads the deploy repo and the store as \`flotilla status\` does and serves one page that updates itself:
every set with its desired digest, a row per machine (state, generation, batch, reason), the current rollout's
batches and slots, quarantines, pauses and the recent transitions. Also /fleet.json (the same data) for scripts.
Read-only: only GET and HEAD. One read of the repo and store serves every viewer for --cache; the revision
is resolved again on each read, so a new commit shows. Binds 127.0.0.1:8089 unless told otherwise; put a
proxy with authentication in front before listening on another address. Runs until SIGINT or SIGTERM.
With --json, prints {"url": …} once listening.`,
  positionals: { min: 0, max: 64 },
  options: {
    listen: { type: 'string', value: 'HOST:PORT', help: 'address to listen on (default 127.0.0.1:8089; port 0 picks a free one)' },
    repo: { type: 'string', value: 'DIR|URL', help: 'deploy repo (default: the current directory)' },
    rev: { type: 'string', value: 'REV', help: 'revision to compare against (default HEAD; main for a URL)' },
    store: { type: 'string', value: 'URL', help: 'store holding status, leases and quarantines (default: from flotilla.yaml)' },
    'stale-after': { type: 'string', value: 'DURATION', help: 'a report older than this, and than two of the heartbeats it declares, is Stale (default 10m)' },
    cache: { type: 'string', value: 'DURATION', help: 'serve one read of the fleet to every viewer for this long (default 1500ms)' },
    interval: { type: 'string', value: 'DURATION', help: 'how often an open page asks for changes (default 3s)' },
  },
  async run(input, ctx) {
    const listen = listenOption(stringOption(input, 'listen'), DEFAULT_LISTEN);
    const staleAfterMs = durationOption(stringOption(input, 'stale-after'), '--stale-after', DEFAULT_STALE_AFTER_MS);
    const cacheMs = durationOption(stringOption(input, 'cache'), '--cache', 1500);
    const pollMs = durationOption(stringOption(input, 'interval'), '--interval', 3000);
    if (pollMs < 500) throw new UsageError('serve: --interval must be at least 500ms');
    const rev = stringOption(input, 'rev');
    const store = stringOption(input, 'store');
    const source = await openFleetSource(
      { repo: stringOption(input, 'repo') ?? '.', ...(rev ? { rev } : {}), ...(store ? { store } : {}), ...(input.positionals.length > 0 ? { sets: input.positionals } : {}), staleAfterMs },
      ctx,
    );
    try {
      // One read before listening: a wrong repo, store or set name is refused here, not on the page.
      await source.read();
      const server = await startFleetServer({ ...listen, load: () => source.read(), cacheMs, pollMs, onProblem: (message) => ctx.logger.warn({ problem: message }, 'reading the fleet failed') });
      if (ctx.json) ctx.emit({ url: server.url });
      else ctx.stdout.write(`serving the fleet page at ${server.url} (read-only); stop with Ctrl-C\n`);
      await new Promise<void>((done) => (ctx.signal.aborted ? done() : ctx.signal.addEventListener('abort', () => done(), { once: true })));
      await server.close();
      return { exitCode: 0, json: { url: server.url, stopped: true } };
    } finally {
      await source.close();
    }
  },
};
