import { checkPlacedPath } from '../nix/index.js';
import type { GenerationCheck } from './fsck-generations.js';
import type { Damage } from './fsck-types.js';
import { registeredNarHashes } from './nix-register.js';

/** What the Nix check found: damage, paths re-hashed, and the generations using a damaged path. */
export interface NixPathCheck {
  damaged: Damage[];
  checked: number;
  /** Paths with no NarHash to compare with (staged before generations kept them, and unknown to Nix). */
  unrecorded: number;
  /** Each damaged path's `<root>\0<store path>`. */
  damagedKeys: Set<string>;
}

const key = (root: string, storePath: string): string => `${root}\0${storePath}`;

/**
 * Re-hashes every Nix store path the checked generations use (each root/path once) against the NarHash the
 * generation recorded from the signed narinfo when it was fetched; for a generation staged before that was
 * kept, against Nix's own registration when the root's Nix holds the path. A path whose on-disk NAR
 * serialisation differs, or that is missing, is damage naming it with both hashes. Throws fs errors other
 * than a missing path.
 */
export async function checkNixPaths(generations: GenerationCheck['generations']): Promise<NixPathCheck> {
  const want = new Map<string, { root: string; storePath: string; narHash: string | undefined }>();
  for (const { generation } of generations) {
    const nix = generation.origin.nix;
    if (!nix) continue;
    for (const p of nix.paths) {
      const k = key(nix.root, p);
      const known = want.get(k);
      if (known === undefined || known.narHash === undefined) want.set(k, { root: nix.root, storePath: p, narHash: nix.narHashes?.[p] });
    }
  }
  const byRoot = new Map<string, string[]>();
  for (const w of want.values()) if (w.narHash === undefined) byRoot.set(w.root, [...(byRoot.get(w.root) ?? []), w.storePath]);
  for (const [root, paths] of byRoot) {
    const hashes = await registeredNarHashes(root, paths);
    for (const [p, h] of hashes) {
      const w = want.get(key(root, p));
      if (w) w.narHash = h;
    }
  }
  const out: NixPathCheck = { damaged: [], checked: 0, unrecorded: 0, damagedKeys: new Set() };
  for (const w of [...want.values()].sort((a, b) => a.storePath.localeCompare(b.storePath))) {
    if (w.narHash === undefined) {
      out.unrecorded++;
      continue;
    }
    out.checked++;
    const d = await checkPlacedPath(w.root, w.storePath, w.narHash);
    if (d === undefined) continue;
    out.damagedKeys.add(key(w.root, w.storePath));
    out.damaged.push({
      kind: 'nix-path',
      path: d.path,
      problem: d.actual === 'missing' ? `Nix store path ${w.storePath} is missing` : `Nix store path ${w.storePath} differs from its NarHash`,
      expected: d.expected,
      actual: d.actual,
    });
  }
  return out;
}

/** Whether a generation's closure includes a path the Nix check found damaged. */
export function usesDamagedNixPath(g: GenerationCheck['generations'][number], check: NixPathCheck): boolean {
  const nix = g.generation.origin.nix;
  return nix !== undefined && nix.paths.some((p) => check.damagedKeys.has(key(nix.root, p)));
}
