import { chmod, lstat, readdir, readlink, rename, rm } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { fsyncDir } from '../util/atomic-write.js';
import { listGenerationDirs } from './generation.js';
import { objectsDir, ORIGIN_FILE, signaturesCacheDir, setPaths, setsDir, storeDir, tempName } from './layout.js';
import { withSetLock } from './set-lock.js';
import { readState } from './state-file.js';
import { readCurrent } from './symlink.js';

/** Options of gcGenerations. */
export interface GcOptions {
  stateDir: string;
  /** How many of the newest generations to keep per set, besides current and the previous active one. */
  keep: number;
  dryRun?: boolean;
  /** Store packages and cache objects younger than this are kept (fetched, not yet staged). Default 1 h. */
  graceMs?: number;
  now?: () => number;
}

/** What GC removed (or would remove with dryRun) and kept: paths relative to the state dir. */
export interface GcResult {
  removed: string[];
  kept: string[];
  freedBytes: number;
}

type Inodes = Map<string, { size: number; nlink: number; removed: number }>;

async function names(dir: string): Promise<string[]> {
  return readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
}

/** Counts every file under `path` as one removed link of its inode; makes directories writable for rm. */
async function account(path: string, inodes: Inodes, writable: boolean): Promise<void> {
  const st = await lstat(path);
  if (st.isDirectory()) {
    if (writable) await chmod(path, 0o755);
    for (const n of await names(path)) await account(join(path, n), inodes, writable);
    return;
  }
  const key = `${st.dev}:${st.ino}`;
  const e = inodes.get(key) ?? { size: st.size, nlink: st.nlink, removed: 0 };
  e.removed += 1;
  inodes.set(key, e);
}

async function remove(dir: string, name: string): Promise<void> {
  // Rename first: a crash mid-delete leaves a `.tmp-` name (swept later), never a half generation or package.
  const tmp = join(dir, tempName(`gc-${name}`));
  await rename(join(dir, name), tmp);
  await fsyncDir(dir);
  await rm(tmp, { recursive: true, force: true });
}

async function gcSet(o: GcOptions, set: string, inodes: Inodes, refs: Set<string>, out: GcResult): Promise<void> {
  const paths = setPaths(o.stateDir, set);
  const state = await readState(paths.stateFile);
  const cur = await readCurrent(paths.current);
  const dirs = await listGenerationDirs(paths);
  const protect = new Set<number | undefined>([cur?.number, state.active, state.previousActive, state.pending?.to, state.pending?.from, state.rollback?.to, state.rollback?.from]);
  dirs.slice(Math.max(0, dirs.length - o.keep)).forEach((d) => protect.add(d.number));
  for (const d of dirs) {
    const path = join(paths.generationsDir, d.dirName);
    const rel = relative(o.stateDir, path);
    if (protect.has(d.number)) {
      out.kept.push(rel);
      for (const n of await names(path)) {
        if (n !== ORIGIN_FILE) refs.add(basename(await readlink(join(path, n)).catch(() => '')));
      }
      continue;
    }
    await account(path, inodes, !o.dryRun);
    if (!o.dryRun) await remove(paths.generationsDir, d.dirName);
    out.removed.push(rel);
  }
}

async function gcStore(o: GcOptions, inodes: Inodes, refs: Set<string>, out: GcResult): Promise<void> {
  const dir = storeDir(o.stateDir);
  const now = (o.now ?? Date.now)();
  for (const n of await names(dir)) {
    if (n.startsWith('.') || refs.has(n)) continue;
    const st = await lstat(join(dir, n));
    if (now - st.mtimeMs < (o.graceMs ?? 3_600_000)) continue;
    await account(join(dir, n), inodes, !o.dryRun);
    if (!o.dryRun) await remove(dir, n);
    out.removed.push(relative(o.stateDir, join(dir, n)));
  }
  // Cache objects whose only remaining link is the cache itself may go; cached signatures by the same rule.
  for (const objects of [objectsDir(o.stateDir), signaturesCacheDir(o.stateDir)]) await gcCacheTree(o, objects, inodes, out);
}

/** Removes the files of `objects` (fan-out dirs of files) that only the cache links and are past the grace. */
async function gcCacheTree(o: GcOptions, objects: string, inodes: Inodes, out: GcResult): Promise<void> {
  const now = (o.now ?? Date.now)();
  for (const fan of await names(objects)) {
    for (const n of await names(join(objects, fan))) {
      if (n.startsWith('.')) continue;
      const path = join(objects, fan, n);
      const st = await lstat(path);
      const e = inodes.get(`${st.dev}:${st.ino}`);
      if (st.nlink - (e?.removed ?? 0) > 1 || now - st.mtimeMs < (o.graceMs ?? 3_600_000)) continue;
      await account(path, inodes, false);
      if (!o.dryRun) await rm(path, { force: true });
      out.removed.push(relative(o.stateDir, path));
    }
  }
}

/**
 * Removes old generations of every set, keeping per set the newest `keep` generations plus `current`,
 * the active and previously active ones and any pending/rollback target; then packages in store/ that no
 * kept generation links to, and cache objects whose only link is the cache (both only when older than
 * the grace period). Holds every set lock for the whole run, so no stage or switch interleaves.
 * `dryRun` reports without changing anything. Throws GenerationError on a corrupt state file (and then
 * removes nothing from store/), RangeError for a negative `keep`.
 */
export async function gcGenerations(options: GcOptions): Promise<GcResult> {
  if (!Number.isInteger(options.keep) || options.keep < 0) throw new RangeError(`keep must be a non-negative integer, got ${options.keep}`);
  const sets = (await names(setsDir(options.stateDir))).filter((n) => !n.startsWith('.')).sort();
  const out: GcResult = { removed: [], kept: [], freedBytes: 0 };
  const inodes: Inodes = new Map();
  const refs = new Set<string>();
  const run = async (i: number): Promise<void> => {
    const set = sets[i];
    if (set === undefined) return gcStore(options, inodes, refs, out);
    return withSetLock(options.stateDir, set, async () => {
      await gcSet(options, set, inodes, refs, out);
      await run(i + 1);
    }, { purpose: 'gc' });
  };
  await run(0);
  for (const e of inodes.values()) if (e.removed >= e.nlink) out.freedBytes += e.size;
  return out;
}
