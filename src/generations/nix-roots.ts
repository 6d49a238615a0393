import { chmod, lstat, mkdir, readdir, readlink, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { forgetNixPaths, nixStoreDirUnder, nixTempNameFor } from '../nix/index.js';
import { fsyncDir } from '../util/atomic-write.js';
import { listGenerationDirs, readGeneration } from './generation.js';
import { setPaths, setsDir, tempName } from './layout.js';

// The policy beside a host's Nix (docs/nix.md): every generation of a Nix closure that is on disk has a
// direct GC root ROOT/nix/var/nix/gcroots/flotilla/<set>-<number> → its top path, so `nix-store --gc` keeps
// the whole closure while Flotilla may still switch or roll back to it; `flotilla gc --state` drops the
// generation, then the root, and Nix's own GC frees the paths. Without Nix (no ROOT/nix/var/nix/db), no one
// else owns ROOT/nix/store, and gcNixStore removes the paths no generation lists.

/** Where Flotilla's GC roots live under a Nix root. */
export function flotillaGcRootsDir(root: string): string {
  return join(root, 'nix', 'var', 'nix', 'gcroots', 'flotilla');
}

/** True when a Nix database exists under `root`: the store belongs to that Nix, and its GC collects it. */
export async function nixOwnsStore(root: string): Promise<boolean> {
  return lstat(join(root, 'nix', 'var', 'nix', 'db')).then(() => true, () => false);
}

/** Every Nix generation on disk: its set, number, root, top path and closure paths. */
async function nixGenerations(stateDir: string): Promise<Array<{ set: string; number: number; root: string; top: string; paths: string[] }>> {
  const sets = await readdir(setsDir(stateDir)).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  const out: Array<{ set: string; number: number; root: string; top: string; paths: string[] }> = [];
  for (const set of sets) {
    const paths = setPaths(stateDir, set);
    for (const d of await listGenerationDirs(paths)) {
      const g = await readGeneration(paths, d.dirName).catch(() => undefined);
      if (g?.origin.nix) out.push({ set, number: g.number, root: g.origin.nix.root, top: g.digest, paths: g.origin.nix.paths });
    }
  }
  return out;
}

/**
 * Makes ROOT/nix/var/nix/gcroots/flotilla/ hold exactly one root per Nix generation of `root` on disk:
 * new links are made under a temp name and renamed; links of generations that are gone are removed.
 * Returns the root names kept. Fails with the file system's errors.
 */
export async function syncNixGcRoots(stateDir: string, root: string): Promise<string[]> {
  const dir = flotillaGcRootsDir(root);
  await mkdir(dir, { recursive: true });
  const want = new Map((await nixGenerations(stateDir)).filter((g) => g.root === root).map((g) => [`${g.set}-${g.number}`, g.top]));
  for (const [name, top] of want) {
    if ((await readlink(join(dir, name)).catch(() => undefined)) === top) continue;
    const tmp = join(dir, tempName(name));
    await symlink(top, tmp);
    await rename(tmp, join(dir, name));
  }
  for (const name of await readdir(dir)) if (!want.has(name)) await rm(join(dir, name), { force: true });
  await fsyncDir(dir);
  return [...want.keys()].sort();
}

/** The distinct roots (`ROOT/nix/store`) the Nix generations in `stateDir` use, sorted; [] without any. */
export async function nixRootsOf(stateDir: string): Promise<string[]> {
  return [...new Set((await nixGenerations(stateDir)).map((g) => g.root))].sort();
}

/** What gcNixStore did for one root. */
export interface NixStoreGcResult {
  root: string;
  /** Store paths removed (or that would be, with dryRun). */
  removed: string[];
  /** Set when Nix owns the store: nothing removed, its GC roots were synced instead. */
  leftToNix: boolean;
}

async function makeWritable(path: string): Promise<void> {
  const st = await lstat(path);
  if (!st.isDirectory()) return;
  await chmod(path, 0o755);
  for (const n of await readdir(path)) await makeWritable(join(path, n));
}

/**
 * For every root a Nix generation on disk uses (run after generation GC): with Nix there, syncs the GC
 * roots and leaves collection to `nix-store --gc`; without, removes each ROOT/nix/store entry that no
 * generation's closure lists (renamed to a temp name first, so a crash never leaves half a path under its
 * real name), after dropping their kept narinfos and registration entries (forgetNixPaths). Entries
 * starting with "." (temps of a fetch in progress) are left alone.
 */
export async function gcNixStores(stateDir: string, options: { dryRun?: boolean; roots?: string[] } = {}): Promise<NixStoreGcResult[]> {
  const gens = await nixGenerations(stateDir);
  const roots = [...new Set([...gens.map((g) => g.root), ...(options.roots ?? [])])].sort();
  const out: NixStoreGcResult[] = [];
  for (const root of roots) {
    if (await nixOwnsStore(root)) {
      if (!options.dryRun) await syncNixGcRoots(stateDir, root);
      out.push({ root, removed: [], leftToNix: true });
      continue;
    }
    const used = new Set(gens.filter((g) => g.root === root).flatMap((g) => g.paths.map((p) => p.slice('/nix/store/'.length))));
    const storeDir = nixStoreDirUnder(root);
    const names = await readdir(storeDir).catch(() => [] as string[]);
    const removed = names.filter((name) => !name.startsWith('.') && !used.has(name)).sort();
    out.push({ root, removed: removed.map((name) => `/nix/store/${name}`), leftToNix: false });
    if (options.dryRun) continue;
    await forgetNixPaths(root, removed.map((name) => `/nix/store/${name}`));
    for (const name of removed) {
      // A pid-named temp: one left by a gc killed here is removed by the next fetch's sweep of this root.
      const tmp = nixTempNameFor(join(storeDir, name));
      await rename(join(storeDir, name), tmp);
      await fsyncDir(storeDir);
      await makeWritable(tmp);
      await rm(tmp, { recursive: true, force: true });
    }
  }
  return out;
}
