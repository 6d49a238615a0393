import type { Logger } from 'pino';
import type { AgentConfig, Declarations, StoreCredentialRef } from '../declarations/types.js';
import { credentialsFor } from '../declarations/store-credentials.js';
import { countRequests, type RequestCounter } from '../fetch/counting-store.js';
import { openStore } from '../store/open-store.js';
import { probeMemoFile } from '../generations/index.js';
import { probeConditionalWrites } from '../store/probe.js';
import { forgetProbe, probeRemembered } from './probe-memo.js';
import { canCoordinate, type Store } from '../store/store.js';
import { storesFor } from '../store/closure-ref.js';
import { openNixCache, type NixCache } from '../nix/index.js';

/**
 * Where agents read the head pointer for `decls`, or undefined when flotilla.yaml does not enable it: its
 * own `headPointer.store`, else the coordination store as forTick picks it.
 */
export function headPointerStoreUrl(config: AgentConfig, decls: Declarations): string | undefined {
  const hp = decls.config.headPointer;
  if (!hp.enabled) return undefined;
  const urls = storesFor(config.stores ?? decls.config.stores, 'flotilla');
  return hp.store ?? config.coordinationStore ?? urls.find((u) => canCoordinate(openStore(u, { writable: true })));
}

/** Content stores and the coordination store of a tick. */
export interface TickStores {
  content: Store[];
  /** Nix binary cache URLs (mirror order), opened on demand with openNix. */
  nixCaches: string[];
  coordination: Store | null;
  coordinationSafe: boolean;
  /** Forgets the coordination store's probe result, here and in the state dir (see SetContext). */
  distrustCoordination: () => Promise<void>;
}

/**
 * Opens stores once per agent process and remembers each coordination store's precondition probe, in the
 * process and in the state dir for a day (probe-memo.ts), so a tick, or a new tick worker, costs no extra
 * requests. The agent config's store list overrides the repo's.
 */
export class StoreCache {
  private readonly open = new Map<string, Store>();
  private readonly probes = new Map<string, boolean>();
  private readonly nix = new Map<string, Promise<NixCache>>();
  /** Every store request this process made (for the tick log, metrics and the fleet benchmark). */
  readonly counter: RequestCounter = { requests: 0 };

  constructor(
    private readonly log: Logger,
    private readonly credentials: readonly StoreCredentialRef[] = [],
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly now: () => number = Date.now,
  ) {}

  private get(url: string, writable: boolean): Store {
    const key = `${writable ? 'w' : 'r'}:${url}`;
    let s = this.open.get(key);
    if (!s) {
      const credentials = credentialsFor(url, this.credentials, this.env);
      s = countRequests(openStore(url, { writable, ...(credentials ? { credentials } : {}) }), this.counter);
      this.open.set(key, s);
    }
    return s;
  }

  /**
   * The Nix binary cache at `url`, opened (nix-cache-info read) once per process; a failed open is
   * forgotten so the next tick tries again. Fails as openNixCache does.
   */
  openNix(url: string): Promise<NixCache> {
    let c = this.nix.get(url);
    if (!c) {
      const credentials = credentialsFor(url.slice('nix+'.length), this.credentials, this.env) ?? credentialsFor(url, this.credentials, this.env);
      c = openNixCache(url, credentials ? { credentials } : {});
      c.catch(() => this.nix.delete(url));
      this.nix.set(url, c);
    }
    return c;
  }

  /** The stores for this tick: content mirrors in order, and the writable one used for leases and status. */
  async forTick(config: AgentConfig, decls: Declarations): Promise<TickStores> {
    const all = config.stores ?? decls.config.stores;
    const urls = storesFor(all, 'flotilla');
    const nixCaches = storesFor(all, 'nix');
    const content = urls.map((u) => this.get(u, false));
    const coordUrl = config.coordinationStore ?? urls.find((u) => canCoordinate(this.get(u, true)));
    const file = probeMemoFile(config.stateDir);
    if (coordUrl === undefined) return { content, nixCaches, coordination: null, coordinationSafe: false, distrustCoordination: () => Promise.resolve() };
    const coordination = this.get(coordUrl, true);
    let safe = this.probes.get(coordUrl);
    if (safe === undefined) {
      const probe = await probeRemembered({ file, url: coordUrl, nowMs: this.now(), probe: () => probeConditionalWrites(coordination) });
      safe = probe.ok;
      this.probes.set(coordUrl, safe);
      if (!safe) this.log.error({ store: coordination.url, reason: probe.reason }, 'store does not honour conditional writes: refusing to coordinate rollouts through it');
    }
    const distrustCoordination = async (): Promise<void> => {
      this.probes.delete(coordUrl);
      await forgetProbe({ file, url: coordUrl });
    };
    return { content, nixCaches, coordination, coordinationSafe: safe, distrustCoordination };
  }

  /** Closes every store opened. */
  async close(): Promise<void> {
    await Promise.all([...this.open.values()].map((s) => s.close()));
    await Promise.all([...this.nix.values()].map((c) => c.then((cache) => cache.close(), () => undefined)));
  }
}
