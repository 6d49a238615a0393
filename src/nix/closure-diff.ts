import type { NarInfo } from './narinfo.js';

/** One store path of a closure with its sizes: NarSize (unpacked) and FileSize (what is downloaded). */
export interface NixPathSize {
  storePath: string;
  narSize: number;
  /** FileSize, or NarSize when the narinfo has none (an uncompressed cache may omit it). */
  fileSize: number;
}

/** What changes from closure A to closure B, path by path (a Nix path never changes in place). */
export interface NixClosureDiff {
  added: NixPathSize[];
  removed: NixPathSize[];
  /** Paths in both closures. */
  kept: number;
  narSizeA: number;
  narSizeB: number;
  /** NarSize and FileSize sums of the added paths: what a machine holding A unpacks and downloads. */
  narBytesToFetch: number;
  fileBytesToFetch: number;
}

const sizeOf = (i: NarInfo): NixPathSize => ({ storePath: i.storePath, narSize: i.narSize, fileSize: i.fileSize ?? i.narSize });
const sum = (xs: readonly NixPathSize[], f: (x: NixPathSize) => number): number => xs.reduce((n, x) => n + f(x), 0);

/**
 * Compares two closures' narinfos (pure): the store paths only B has (a machine on A fetches exactly those),
 * those only A has, and the NarSize/FileSize sums. Either side may be empty (a new set).
 */
export function diffNixClosures(a: readonly NarInfo[], b: readonly NarInfo[]): NixClosureDiff {
  const inA = new Set(a.map((i) => i.storePath));
  const inB = new Set(b.map((i) => i.storePath));
  const added = b.filter((i) => !inA.has(i.storePath)).map(sizeOf).sort((x, y) => x.storePath.localeCompare(y.storePath));
  const removed = a.filter((i) => !inB.has(i.storePath)).map(sizeOf).sort((x, y) => x.storePath.localeCompare(y.storePath));
  return {
    added,
    removed,
    kept: b.length - added.length,
    narSizeA: sum(a.map(sizeOf), (x) => x.narSize),
    narSizeB: sum(b.map(sizeOf), (x) => x.narSize),
    narBytesToFetch: sum(added, (x) => x.narSize),
    fileBytesToFetch: sum(added, (x) => x.fileSize),
  };
}
