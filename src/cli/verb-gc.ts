import { join } from 'node:path';
import type { Command } from './command.js';
import { flag, stringOption } from './command.js';
import { UsageError } from '../errors/index.js';
import { gcGenerations, gcNixStores, resolveStateDir } from '../generations/index.js';
import { closeAll, openStoreArg } from '../packages/cli-args.js';
import { gcRemovedReports } from '../publish/gc-reports.js';
import { gcFinishedRollouts } from '../publish/gc-rollouts.js';
import { gcStore } from '../publish/gc-store.js';
import { objectKey } from '../store/keys.js';
import type { Store } from '../store/store.js';
import { isDigest, type Digest } from '../store/digest.js';
import { durationOption } from './duration-option.js';
import { closuresInHistory, openDeployRepo, readDeclarationsAt, requireDeclarations } from '../deploy-repo/index.js';
import type { Declarations } from '../declarations/types.js';

async function present(store: Store, digests: Digest[]): Promise<Digest[]> {
  const out: Digest[] = [];
  for (const d of digests) {
    try {
      await store.head(objectKey(d));
      out.push(d);
    } catch (err) {
      if (!store.isNotFound(err)) throw err;
    }
  }
  return out;
}

function parseKeep(value: string | undefined): number {
  if (value === undefined) return 3;
  if (!/^[0-9]{1,4}$/.test(value)) throw new UsageError(`--keep must be a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

/**
 * `flotilla gc`: store GC (objects unreachable from pins, promoted closures and, with --repo, every closure
 * the deploy repo named recently) and/or state-dir GC on a machine (old generations and what only they used).
 */
export const command: Command = {
  name: 'gc',
  summary: 'collect garbage: store objects no root reaches (--store), old generations on a machine (--state)',
  usage: 'flotilla gc [--store URL [--repo DIR|URL] [--older-than DURATION]] [--state DIR [--keep N]] [--dry-run] [--json]',
  description: `--store: deletes objects unreachable from pins, promoted closures and, with --repo, every closure named
in the deploy repo's last --history commits (default 200). Nothing younger than --older-than (default 24h) is
deleted, so a push in flight is safe. With --repo it also deletes the status reports of machines no longer in
their set at the repo's HEAD once they are older than --older-than (a member's report is never deleted), and
the lease objects (slots, tombstones, tokens) and Ready markers of finished rollouts, those of a target no set
desires at HEAD, once all of a rollout's objects are older than --older-than.
--state: on a machine, removes generations beyond the newest --keep (default 3) of each set, never the current,
active or previous one, then packages and cached objects no kept generation uses. Nix closures: without Nix
(no ROOT/nix/var/nix/db) the ROOT/nix/store paths no kept generation lists are removed; with Nix, the GC roots
in ROOT/nix/var/nix/gcroots/flotilla/ follow the kept generations and nix-store --gc frees the rest.`,
  options: {
    store: { type: 'string', value: 'URL', help: 'store URL' },
    repo: { type: 'string', value: 'DIR|URL', help: 'deploy repo whose recent closures are roots too, and whose HEAD says which machines left their sets' },
    history: { type: 'string', value: 'N', help: 'how many commits of the repo count (default 200)' },
    'older-than': { type: 'string', value: 'DURATION', help: 'grace period, e.g. 24h, 7d (default 24h)' },
    state: { type: 'string', value: 'DIR', help: 'state dir to collect (default $FLOTILLA_STATE_DIR or /var/lib/flotilla)' },
    keep: { type: 'string', value: 'N', help: 'generations to keep per set with --state (default 3)' },
    'dry-run': { type: 'boolean', help: 'list what would be deleted, delete nothing' },
  },
  async run(input, ctx) {
    const storeUrl = stringOption(input, 'store');
    const stateOpt = stringOption(input, 'state');
    if (storeUrl === undefined && stateOpt === undefined) throw new UsageError('gc: give --store URL, --state DIR, or both');
    const dryRun = flag(input, 'dry-run');
    // Parsed before anything is collected: a bad value must change nothing.
    const olderThanMs = durationOption(stringOption(input, 'older-than'), '--older-than', 24 * 3_600_000);
    const keep = parseKeep(stringOption(input, 'keep'));
    const text: string[] = [];
    const json: Record<string, unknown> = {};
    if (stateOpt !== undefined) {
      const stateDir = resolveStateDir(stateOpt, ctx.env);
      const r = await gcGenerations({ stateDir, keep, dryRun });
      text.push(...r.removed.map((p) => `${dryRun ? 'would remove' : 'removed'} ${p}`), `state dir: ${r.removed.length} removed, ${r.kept.length} kept, ${r.freedBytes} bytes freed`);
      json['state'] = r;
      // Nix closures: after the generations go, their store paths (without Nix) or GC roots (with Nix) follow.
      const nix = await gcNixStores(stateDir, { dryRun });
      for (const n of nix) {
        text.push(...n.removed.map((p) => `${dryRun ? 'would remove' : 'removed'} ${join(n.root, p)}`));
        text.push(n.leftToNix ? `${n.root}: Nix owns this store; GC roots synced, nix-store --gc collects unused paths` : `${n.root}/nix/store: ${n.removed.length} unused path(s) ${dryRun ? 'would be ' : ''}removed`);
      }
      json['nix'] = nix;
    }
    if (storeUrl !== undefined) {
      const store = openStoreArg(storeUrl, ctx, true);
      try {
        let extraRoots: Digest[] = [];
        let decls: Declarations | undefined;
        const repo = stringOption(input, 'repo');
        if (repo !== undefined) {
          const depth = Number(stringOption(input, 'history') ?? '200');
          if (!Number.isInteger(depth) || depth < 1) throw new UsageError('--history must be a positive whole number');
          const src = await openDeployRepo({ repo, cwd: ctx.cwd, env: ctx.env, signal: ctx.signal });
          try {
            // A closure the repo named but the store never had cannot be protected; it must not block GC.
            const head = await src.resolve();
            extraRoots = await present(store, (await closuresInHistory(src.gitdir, head, depth)).filter(isDigest));
            // Membership at HEAD decides whose reports are a removed machine's; a HEAD that does not load decides nothing.
            decls = requireDeclarations(await readDeclarationsAt(src.gitdir, head), { what: `declarations at ${head.slice(0, 12)} are` });
          } finally {
            await src.close();
          }
        }
        const r = await gcStore(store, { olderThanMs, dryRun, extraRoots });
        const verb = r.dryRun ? 'would delete' : 'deleted';
        text.push(...r.deleted.map((k) => `${verb} ${k}`), `store: ${r.roots.length} root(s), ${r.reachableObjects} reachable object(s); ${verb} ${r.deleted.length} key(s), ${r.deletedBytes} bytes; kept ${r.keptYoung} young unreachable key(s)`);
        json['store'] = r;
        if (decls !== undefined) {
          const reports = await gcRemovedReports(store, decls, { olderThanMs, dryRun });
          text.push(...reports.deleted.map((k) => `${verb} ${k} (machine removed from its set)`), `reports: ${verb} ${reports.deleted.length} of removed machines; kept ${reports.keptYoung.length} within the grace period`);
          json['reports'] = { ...reports, dryRun };
          const rollouts = await gcFinishedRollouts(store, decls, { olderThanMs, dryRun });
          text.push(...rollouts.deleted.map((r) => `${verb} leases/${r}/ (a finished rollout)`), `rollouts: ${verb} the lease objects of ${rollouts.deleted.length} finished rollout(s) (${rollouts.deletedKeys} key(s)); kept ${rollouts.keptYoung.length} within the grace period`);
          json['rollouts'] = { ...rollouts, dryRun };
        }
      } finally {
        await closeAll([store]);
      }
    }
    return { exitCode: 0, text: text.join('\n'), json };
  },
};
