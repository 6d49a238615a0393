// A reader of one set's status files that pays for what changed only: one LIST of `status/SET/` tells
// every file's etag, and a file is fetched again only when its etag differs from the one its cached bytes
// were read under. A gate decision that finds nothing new thus costs one LIST, whatever the set size.
import { runPool } from '../util/run-pool.js';
import { statusKey, statusPrefix } from '../store/keys.js';
import { listAll, type Store } from '../store/store.js';
import type { MachineStatus, ParseProblem } from './machine-status.js';
import { readMachineStatus } from './status-io.js';

/** Gets in flight at once when many files changed (a whole batch turning Ready). */
const READ_CONCURRENCY = 16;

interface Cached {
  etag: string;
  status: MachineStatus | ParseProblem;
}

/**
 * What this process knows of one set's status files: the etags of the last listing and the parsed files
 * read under them. Bytes read right after a listing may be newer than the etag listed; the next listing
 * then shows another etag and the file is read again: a cached status is never older than its etag says.
 */
export class StatusListing {
  private listed = new Map<string, string>();
  private readonly cache = new Map<string, Cached>();

  constructor(readonly set: string) {}

  /** One listing of `status/SET/` (a page per 1,000 files); forgets files that are gone. Throws store errors. */
  async refresh(store: Store): Promise<void> {
    const prefix = statusPrefix(this.set);
    const listed = new Map<string, string>();
    for await (const info of listAll(store, prefix)) {
      const rest = info.key.slice(prefix.length);
      if (rest.endsWith('.json') && !rest.includes('/')) listed.set(rest.slice(0, -'.json'.length), info.etag);
    }
    for (const m of this.cache.keys()) if (!listed.has(m)) this.cache.delete(m);
    this.listed = listed;
  }

  /** True when the last listing showed `machine`'s file. */
  has(machine: string): boolean {
    return this.listed.has(machine);
  }

  /** The status last read for `machine`, whatever the listing says since (undefined: never read or gone). */
  known(machine: string): MachineStatus | ParseProblem | undefined {
    return this.cache.get(machine)?.status;
  }

  /** How many of `machines` `read` would fetch now: listed, and not cached under the listed etag. */
  staleAmong(machines: readonly string[]): string[] {
    return machines.filter((m) => {
      const etag = this.listed.get(m);
      return etag !== undefined && this.cache.get(m)?.etag !== etag;
    });
  }

  /**
   * The statuses of `machines` as of the last listing: fetched (concurrently) only where the etag changed.
   * Machines absent from the listing never reported and are absent from the result. Throws store errors.
   */
  async read(store: Store, machines: readonly string[]): Promise<Map<string, MachineStatus | ParseProblem>> {
    await runPool(this.staleAmong(machines), READ_CONCURRENCY, async (m) => {
      const etag = this.listed.get(m) ?? '';
      const status = await readStatusOrProblem(store, this.set, m);
      if (status === null) this.cache.delete(m);
      else this.cache.set(m, { etag, status });
    });
    const out = new Map<string, MachineStatus | ParseProblem>();
    for (const m of machines) {
      const c = this.listed.has(m) ? this.cache.get(m) : undefined;
      if (c !== undefined) out.set(m, c.status);
    }
    return out;
  }
}

/** readMachineStatus, with a file past the size limit read as a ParseProblem (as readSetStatuses does). */
async function readStatusOrProblem(store: Store, set: string, machine: string): Promise<MachineStatus | ParseProblem | null> {
  try {
    return await readMachineStatus(store, set, machine);
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'SizeLimitError') return { key: statusKey(set, machine), problem: `${statusKey(set, machine)}: too large` };
    throw err;
  }
}
