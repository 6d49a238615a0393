import type { ClosureRef } from '../store/closure-ref.js';
import type { Digest } from '../store/digest.js';

/** One damaged thing in a state dir: what, where, and what was expected against what was found. */
export interface Damage {
  kind: 'object' | 'package' | 'generation' | 'nix-path';
  /** The file or directory that is damaged. */
  path: string;
  problem: string;
  expected?: string;
  actual?: string;
}

/** What a package check learned besides its damage: which objects each package uses (for --set and repair). */
export interface PackageCheck {
  damaged: Damage[];
  /** Package directory names checked, each with the digest of its manifest. */
  packages: Map<string, Digest>;
  /** Each object digest the checked packages' manifests name (their files and the manifests), with those packages. */
  objects: Map<Digest, Set<string>>;
  files: number;
}

/** A generation that runs (or could run) damaged bytes, and the closure `flotilla fetch --repair` re-places. */
export interface RepairHint {
  set: string;
  generation: number;
  digest: ClosureRef;
}

/** The whole check. `damaged` empty means every object, package, Nix path and generation matched its name, manifest or NarHash. */
export interface FsckReport {
  stateDir: string;
  /** `nixPaths`: Nix store paths re-hashed; `nixUnrecorded`: those with no NarHash on record to compare with. */
  checked: { objects: number; packages: number; files: number; generations: number; nixPaths: number; nixUnrecorded: number };
  damaged: Damage[];
  repair: RepairHint[];
}
