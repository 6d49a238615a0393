import type { Declarations } from '../declarations/types.js';
import { openDeployRepo, readDeclarationsAt, requireDeclarations, type DeployRepo } from '../deploy-repo/index.js';
import { UsageError } from '../errors/index.js';
import { buildFleetPage, type FleetPage } from '../fleet/fleet-page.js';
import { readFleetReadings } from '../fleet/read-fleet.js';
import { openStore } from '../store/open-store.js';
import { canCoordinate, type Store } from '../store/store.js';
import type { CommandContext } from './command.js';

/**
 * The store `flotilla status` and `flotilla serve` read: `explicit` (--store), else the repo's first store that
 * can hold leases and reports, else its first store. UsageError when there is none.
 */
export function chooseFleetStore(verb: string, decls: Declarations, explicit: string | undefined): string {
  const url = explicit ?? decls.config.stores.find((u) => canCoordinate(openStore(u, { writable: true }))) ?? decls.config.stores[0];
  if (url === undefined) throw new UsageError(`${verb}: the repo declares no store; give --store URL`);
  return url;
}

/** Where the fleet page reads from. */
export interface FleetSourceOptions {
  repo: string;
  rev?: string;
  store?: string;
  sets?: string[];
  staleAfterMs: number;
}

/** An open deploy repo and store that read the fleet page on demand (`flotilla serve`). */
export interface FleetSource {
  /** Resolves the revision again (a URL's branch is fetched), then reads every set from the store. */
  read(): Promise<FleetPage>;
  close(): Promise<void>;
}

/**
 * Opens the deploy repo for the life of the source; each read() resolves the revision anew so a new commit
 * shows, and re-reads the declarations only when the commit changed. The store is the one chosen (see
 * chooseFleetStore) at the first read. Fails as openDeployRepo, resolve, requireDeclarations and the store do.
 */
export async function openFleetSource(o: FleetSourceOptions, ctx: Pick<CommandContext, 'cwd' | 'env' | 'signal'>): Promise<FleetSource> {
  const repo: DeployRepo = await openDeployRepo({ repo: o.repo, cwd: ctx.cwd, env: ctx.env, signal: ctx.signal });
  let known: { oid: string; decls: Declarations } | undefined;
  let store: Store | undefined;
  return {
    async read() {
      const oid = await repo.resolve(o.rev);
      if (known?.oid !== oid) {
        known = { oid, decls: requireDeclarations(await readDeclarationsAt(repo.gitdir, oid), { what: `declarations at ${oid.slice(0, 12)} are` }) };
      }
      store ??= openStore(chooseFleetStore('serve', known.decls, o.store), { mustExist: true, signal: ctx.signal });
      const now = new Date();
      const readings = await readFleetReadings(store, known.decls, { ...(o.sets ? { sets: o.sets } : {}), now, staleAfterMs: o.staleAfterMs, withHistory: true });
      return buildFleetPage(readings, { commit: oid, store: store.url, now });
    },
    async close() {
      await store?.close();
      await repo.close();
    },
  };
}
