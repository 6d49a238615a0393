import { storeDir } from '../generations/layout.js';
import type { Digest } from '../store/digest.js';
import { checkGenerations } from './fsck-generations.js';
import { checkNixPaths, usesDamagedNixPath } from './fsck-nix.js';
import { checkObjects } from './fsck-objects.js';
import { checkPackages } from './fsck-packages.js';
import type { Damage, FsckReport, RepairHint } from './fsck-types.js';

/** The package directory a damaged path lies in (`…/store/<dir>/…`), if any. */
function packageOf(path: string, packages: ReadonlyMap<string, Digest>, storeRoot: string): string | undefined {
  if (!path.startsWith(`${storeRoot}/`)) return undefined;
  const dir = path.slice(storeRoot.length + 1).split('/')[0];
  return dir !== undefined && packages.has(dir) ? dir : undefined;
}

/**
 * Re-hashes a state dir against its own names and manifests (like `nix store verify`, `ostree fsck`):
 * every generation of every set (or of `sets`), every materialised package (with `sets`: those their
 * generations link), every cached object (with `sets`: those their packages name) and every Nix store path a
 * generation uses (re-hashed against the NarHash it recorded, see checkNixPaths). Reports each damaged
 * thing with what was expected and what was found, and the generations that run or could run damaged bytes
 * (repair: `flotilla fetch DIGEST --repair`). Reads only; throws fs errors it cannot attribute to an item.
 */
export async function fsckStateDir(stateDir: string, options: { sets?: readonly string[] } = {}): Promise<FsckReport> {
  const storeRoot = storeDir(stateDir);
  const gens = await checkGenerations(stateDir, options.sets);
  const onlyPackages = options.sets === undefined ? undefined : new Set(gens.generations.flatMap((g) => g.packages));
  const pkgs = await checkPackages(stateDir, onlyPackages);
  const objs = await checkObjects(stateDir, options.sets === undefined ? undefined : new Set(pkgs.objects.keys()));
  const nix = await checkNixPaths(gens.generations);
  const damaged: Damage[] = [...gens.damaged, ...pkgs.damaged, ...objs.damaged, ...nix.damaged];
  // A damaged object spoils every package whose manifest names it (a file of it, or the manifest itself).
  const spoiled = new Set<string>();
  for (const d of pkgs.damaged) {
    const dir = packageOf(d.path, pkgs.packages, storeRoot);
    if (dir) spoiled.add(dir);
  }
  for (const d of objs.damaged) for (const dir of pkgs.objects.get(d.digest) ?? []) spoiled.add(dir);
  const repair: RepairHint[] = [];
  for (const g of gens.generations) {
    const own = gens.damaged.some((d) => d.path.startsWith(`${g.generation.path}/`) || d.path === g.generation.path);
    const usesBad = g.packages.some((p) => spoiled.has(p));
    if (own || usesBad || usesDamagedNixPath(g, nix)) repair.push({ set: g.set, generation: g.generation.number, digest: g.generation.digest });
  }
  return {
    stateDir,
    checked: { objects: objs.checked, packages: pkgs.packages.size, files: pkgs.files, generations: gens.generations.length, nixPaths: nix.checked, nixUnrecorded: nix.unrecorded },
    damaged,
    repair,
  };
}
