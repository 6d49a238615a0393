import type { Digest } from '../store/digest.js';

/** The manifest format version written into every manifest (`format` field). */
export const MANIFEST_FORMAT = 1;

/** A regular file. `data` (base64) inlines a small file's bytes in the manifest; `digest` still names them. */
export interface FileEntry {
  type: 'file';
  path: string;
  size: number;
  digest: Digest;
  executable: boolean;
  data?: string;
}

/** A directory. Every parent of every entry is declared as one (the package root is implicit). */
export interface DirEntry {
  type: 'dir';
  path: string;
}

/** A relative symbolic link that resolves inside the package. */
export interface SymlinkEntry {
  type: 'symlink';
  path: string;
  target: string;
}

export type Entry = FileEntry | DirEntry | SymlinkEntry;

/**
 * A package manifest. Its canonical JSON bytes are what is hashed and signed; `references` and
 * `provenance` are inside those bytes, so signatures cover them. Entries are sorted by path,
 * references sorted and unique.
 */
export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  name: string;
  entries: Entry[];
  references: Digest[];
  provenance: Record<string, string>;
}

/** A manifest together with the exact bytes it was read from (or encoded to) and their digest. */
export interface LoadedManifest {
  digest: Digest;
  bytes: Buffer;
  manifest: Manifest;
}
