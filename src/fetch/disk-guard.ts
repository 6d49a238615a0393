import { stat } from 'node:fs/promises';
import { DiskFullError } from '../errors/index.js';
import { isDiskFull } from '../errors/system-error.js';
import { ensureFreeSpace, type DiskSpace } from '../generations/disk-space.js';
import { objectsRoot } from '../generations/layout.js';
import type { LoadedManifest } from '../packages/manifest-types.js';
import { objectKey } from '../store/keys.js';
import type { Store } from '../store/store.js';
import type { Wanted } from './place-objects.js';

// Files take whole blocks, and every directory and link of a package tree takes metadata: count each
// object rounded up to a block, a block per directory, plus a fixed margin for the manifests written
// already, the cache's shard directories and the state files written after the fetch.
const BLOCK = 4096;
const MARGIN_BYTES = 1024 * 1024;

const blocks = (n: number): number => Math.ceil(n / BLOCK) * BLOCK;

/** What a fetch is about to write, for ensureFetchSpace. */
export interface FetchNeeds {
  stateDir: string;
  stores: readonly Store[];
  /** Objects the cache lacks (store objects and inline files). */
  wanted: readonly Wanted[];
  /** Executable (0555) twins to copy. */
  execs: readonly Wanted[];
  /** Packages to materialise. */
  todo: readonly LoadedManifest[];
  /** Set when a local store's objects may be hard-linked (no bytes written for them). */
  linkOwner?: number;
}

/**
 * True when the first store is a directory on the state dir's filesystem and linking is allowed: its
 * objects will mostly be hard-linked, costing no data blocks. Judged on the first wanted object.
 */
async function linksLocally(n: FetchNeeds): Promise<boolean> {
  const store = n.stores[0];
  const first = n.wanted.find((w) => w.bytes === undefined);
  if (n.linkOwner === undefined || store?.localPath === undefined || first === undefined) return false;
  const [a, b] = await Promise.all([stat(store.localPath(objectKey(first.digest))).catch(() => undefined), stat(objectsRoot(n.stateDir)).catch(() => undefined)]);
  return a !== undefined && b !== undefined && a.dev === b.dev;
}

/** Bytes the fetch will write into the state dir: the objects not yet present (by block), twins, directories, a margin. */
export async function bytesNeeded(n: FetchNeeds): Promise<number> {
  const linked = await linksLocally(n);
  let bytes = MARGIN_BYTES;
  for (const w of n.wanted) if (w.bytes !== undefined || !linked) bytes += blocks(w.size);
  for (const w of n.execs) bytes += blocks(w.size);
  for (const p of n.todo) bytes += BLOCK * (1 + p.manifest.entries.filter((e) => e.type === 'dir').length);
  return bytes;
}

/**
 * Refuses a fetch that cannot fit before any object is fetched: DiskFullError (code DiskFullError,
 * data.neededBytes / data.freeBytes) naming the state dir and both figures. A local fault: no store is
 * blamed and no mirror is tried.
 */
export async function ensureFetchSpace(space: DiskSpace, n: FetchNeeds): Promise<void> {
  if (n.wanted.length === 0 && n.execs.length === 0 && n.todo.length === 0) return;
  await ensureFreeSpace(space, objectsRoot(n.stateDir), await bytesNeeded(n), 'the fetch');
}

/**
 * The DiskFullError for a write that failed with ENOSPC or EDQUOT (an fs error, or a fs-op result's
 * `{ code, message }`), undefined for any other failure. Callers throw it rather than try the next mirror.
 */
export function localDiskFull(err: unknown, dir: string): DiskFullError | undefined {
  if (err instanceof DiskFullError) return err;
  if (!isDiskFull(err)) return undefined;
  const { code, message } = err as { code: string; message?: string };
  return new DiskFullError(`disk full while fetching into ${dir}: ${message ?? code}`, { dir, errno: code }, { cause: err });
}
