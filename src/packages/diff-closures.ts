import type { Entry, LoadedManifest } from './manifest-types.js';

export interface PackageChange {
  name: string;
  from?: string;
  to?: string;
  added: string[];
  removed: string[];
  changed: string[];
}

/** What `flotilla diff A B` reports. */
export interface ClosureDiff {
  added: Array<{ name: string; digest: string }>;
  removed: Array<{ name: string; digest: string }>;
  changed: PackageChange[];
  unchanged: string[];
  sizeA: number;
  sizeB: number;
  /** Bytes a machine holding closure A must fetch to get B: B's objects and manifests A lacks. */
  bytesToFetch: number;
  objectsToFetch: number;
}

function sameEntry(a: Entry, b: Entry): boolean {
  if (a.type !== b.type) return false;
  if (a.type === 'file' && b.type === 'file') return a.digest === b.digest && a.executable === b.executable;
  if (a.type === 'symlink' && b.type === 'symlink') return a.target === b.target;
  return true;
}

function fileBytes(ps: LoadedManifest[]): number {
  return ps.reduce((n, p) => n + p.manifest.entries.reduce((m, e) => m + (e.type === 'file' ? e.size : 0), 0), 0);
}

/**
 * Compares two closures (pure): packages matched by name (added / removed / changed with per-path changes),
 * total file sizes, and the bytes and objects that fetching B on a machine that holds A would transfer.
 */
export function diffClosures(a: LoadedManifest[], b: LoadedManifest[]): ClosureDiff {
  const byNameA = new Map(a.map((p) => [p.manifest.name, p]));
  const byNameB = new Map(b.map((p) => [p.manifest.name, p]));
  const d: ClosureDiff = { added: [], removed: [], changed: [], unchanged: [], sizeA: fileBytes(a), sizeB: fileBytes(b), bytesToFetch: 0, objectsToFetch: 0 };
  for (const [name, pa] of byNameA) if (!byNameB.has(name)) d.removed.push({ name, digest: pa.digest });
  for (const [name, pb] of byNameB) {
    const pa = byNameA.get(name);
    if (!pa) d.added.push({ name, digest: pb.digest });
    else if (pa.digest === pb.digest) d.unchanged.push(name);
    else {
      const ea = new Map(pa.manifest.entries.map((e) => [e.path, e]));
      const eb = new Map(pb.manifest.entries.map((e) => [e.path, e]));
      const c: PackageChange = { name, from: pa.digest, to: pb.digest, added: [], removed: [], changed: [] };
      for (const [p, e] of eb) {
        const old = ea.get(p);
        if (!old) c.added.push(p);
        else if (!sameEntry(old, e)) c.changed.push(p);
      }
      for (const p of ea.keys()) if (!eb.has(p)) c.removed.push(p);
      d.changed.push(c);
    }
  }
  const have = new Set<string>();
  for (const p of a) {
    have.add(p.digest);
    for (const e of p.manifest.entries) if (e.type === 'file') have.add(e.digest);
  }
  for (const p of b) {
    if (!have.has(p.digest)) {
      have.add(p.digest);
      d.bytesToFetch += p.bytes.length;
      d.objectsToFetch++;
    }
    for (const e of p.manifest.entries) {
      if (e.type !== 'file' || e.data !== undefined || have.has(e.digest)) continue;
      have.add(e.digest);
      d.bytesToFetch += e.size;
      d.objectsToFetch++;
    }
  }
  return d;
}
