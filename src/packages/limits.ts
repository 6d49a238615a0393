/** Caps applied to manifests and closures at push and at fetch. A hostile store cannot exceed them. */
export interface ManifestLimits {
  /** Bytes of one manifest. */
  maxManifestBytes: number;
  /** Entries in one manifest. */
  maxEntries: number;
  /** Bytes (UTF-8) of one path segment. */
  maxNameBytes: number;
  /** Bytes (UTF-8) of a whole path or symlink target. */
  maxPathBytes: number;
  /** Segments in a path. */
  maxDepth: number;
  /** Size of one file. */
  maxFileBytes: number;
  /** Files at most this large are inlined in the manifest at push (0 disables inlining). */
  inlineMaxBytes: number;
  /** Packages in one closure. */
  maxPackages: number;
  /** Sum of file sizes over a closure. */
  maxClosureBytes: number;
  /** References of one manifest. */
  maxReferences: number;
  /** Provenance keys, and bytes of each value. */
  maxProvenanceKeys: number;
  maxProvenanceValueBytes: number;
}

/** Defaults: generous for real services, small enough that a hostile manifest cannot exhaust memory. */
export const DEFAULT_LIMITS: Readonly<ManifestLimits> = Object.freeze({
  maxManifestBytes: 64 * 1024 * 1024,
  maxEntries: 250_000,
  maxNameBytes: 255,
  maxPathBytes: 4096,
  maxDepth: 64,
  maxFileBytes: 64 * 1024 * 1024 * 1024,
  inlineMaxBytes: 2048,
  maxPackages: 10_000,
  maxClosureBytes: 1024 * 1024 * 1024 * 1024,
  maxReferences: 1024,
  maxProvenanceKeys: 64,
  maxProvenanceValueBytes: 4096,
});

/** Merges caller overrides over the defaults. */
export function resolveLimits(overrides?: Partial<ManifestLimits>): ManifestLimits {
  return { ...DEFAULT_LIMITS, ...(overrides ?? {}) };
}
