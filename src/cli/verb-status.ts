import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildFleetPage } from '../fleet/fleet-page.js';
import { decideExitCode, type SetView } from '../fleet/fleet-view.js';
import { readFleetReadings, type SetReading } from '../fleet/read-fleet.js';
import { renderFleet } from '../fleet/render-fleet.js';
import { renderFleetDocument } from '../fleet/render-html.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { DEFAULT_STALE_AFTER_MS } from '../status/readiness.js';
import { openStore } from '../store/open-store.js';
import { openDeployRepo, readDeclarationsAt, requireDeclarations } from '../deploy-repo/index.js';
import { flag, stringOption, type Command } from './command.js';
import { durationOption } from './duration-option.js';
import { chooseFleetStore } from './fleet-source.js';

const LABEL = { 0: 'converged', 1: 'failed', 3: 'progressing' } as const;

/** What --json prints: the result, and with --watch each change before it. */
function document(commit: string, store: string, code: 0 | 1 | 3, sets: SetView[]): { commit: string; store: string; result: (typeof LABEL)[0 | 1 | 3]; sets: SetView[] } {
  return { commit, store, result: LABEL[code], sets };
}

/** `flotilla status`: where the fleet stands, per set and machine, from the repo and the store. */
export const command: Command = {
  name: 'status',
  summary: 'show where the fleet stands: per set, each machine\'s digest, state, batch, slots, quarantines',
  usage: 'flotilla status [SET...] [--repo DIR|URL] [--store URL] [--watch] [--html FILE] [--json]',
  description: `Reads the desired digests from the deploy repo (HEAD, or --rev) and each machine's last report,
the slot holders and the quarantines from the store (default: the repo's first writable store).
Exit 0 when every set is converged and healthy, 1 when something failed (a machine Failed, RolledBack or
Stale, or the desired digest is quarantined), 3 while progressing, so CI can wait on it.
--watch refreshes until every set is converged or one failed; with --json it prints one line (an envelope,
as the final one) each time what it would print changes, then the final result: NDJSON (docs/cli-json.md).
--html FILE also writes the fleet page (as \`flotilla serve\` shows it) once, as a self-contained static file,
atomically: a CI artefact of where the fleet stood.`,
  positionals: { min: 0, max: 64 },
  options: {
    repo: { type: 'string', value: 'DIR|URL', help: 'deploy repo (default: the current directory)' },
    rev: { type: 'string', value: 'REV', help: 'revision of the repo to compare against, e.g. main~1 (default HEAD; main for a URL)' },
    store: { type: 'string', value: 'URL', help: 'store holding status, leases and quarantines (default: from flotilla.yaml)' },
    watch: { type: 'boolean', help: 'refresh until converged or failed' },
    interval: { type: 'string', value: 'DURATION', help: 'refresh interval with --watch (default 2s)' },
    'stale-after': { type: 'string', value: 'DURATION', help: 'a report older than this, and than two of the heartbeats it declares, is Stale (default 10m)' },
    html: { type: 'string', value: 'FILE', help: 'also write the fleet page as a static HTML file (replaced atomically)' },
  },
  async run(input, ctx) {
    // Options first: a bad value is refused before the repo or the store is touched.
    const staleAfterMs = durationOption(stringOption(input, 'stale-after'), '--stale-after', DEFAULT_STALE_AFTER_MS);
    const intervalMs = durationOption(stringOption(input, 'interval'), '--interval', 2000);
    const repo = await openDeployRepo({ repo: stringOption(input, 'repo') ?? '.', cwd: ctx.cwd, env: ctx.env, signal: ctx.signal });
    let decls;
    let oid: string;
    try {
      oid = await repo.resolve(stringOption(input, 'rev'));
      decls = requireDeclarations(await readDeclarationsAt(repo.gitdir, oid), { what: `declarations at ${oid.slice(0, 12)} are` });
    } finally {
      await repo.close();
    }
    const storeUrl = chooseFleetStore('status', decls, stringOption(input, 'store'));
    const htmlFile = stringOption(input, 'html');
    const sets = input.positionals.length > 0 ? input.positionals : undefined;
    const store = openStore(storeUrl, { mustExist: true, signal: ctx.signal });
    try {
      let views: SetView[];
      let readings: SetReading[];
      let now: Date;
      let shown = '';
      for (;;) {
        now = new Date();
        readings = await readFleetReadings(store, decls, { ...(sets ? { sets } : {}), now, staleAfterMs, ...(htmlFile !== undefined ? { withHistory: true } : {}) });
        views = readings.map((r) => r.view);
        const code = decideExitCode(views);
        if (!flag(input, 'watch') || code !== 3 || ctx.signal.aborted) break;
        if (ctx.json) {
          // One line per change, not per poll: a reader (a CI log, a chat bot) sees each step once.
          const doc = document(oid, store.url, code, views);
          const line = JSON.stringify(doc);
          if (line !== shown) ctx.emit(doc);
          shown = line;
        } else {
          ctx.stderr.write(`${ctx.interactive ? '\u001b[2J\u001b[H' : ''}${renderFleet(views, ctx.interactive)}\n`);
        }
        await sleep(intervalMs, undefined, { signal: ctx.signal }).catch(() => undefined);
      }
      const exitCode = decideExitCode(views);
      if (htmlFile !== undefined) {
        await writeFileAtomic(resolve(ctx.cwd, htmlFile), renderFleetDocument(buildFleetPage(readings, { commit: oid, store: store.url, now })));
      }
      return {
        exitCode,
        text: `${renderFleet(views, ctx.interactive)}commit ${oid.slice(0, 12)}: ${LABEL[exitCode]}`,
        json: document(oid, store.url, exitCode, views),
      };
    } finally {
      await store.close();
    }
  },
};
