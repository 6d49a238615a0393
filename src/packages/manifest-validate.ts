import { ManifestError } from '../errors/index.js';
import { isDigest } from '../store/digest.js';
import type { ManifestLimits } from './limits.js';
import type { Entry, Manifest } from './manifest-types.js';
import { checkEntryPath, checkSymlinkTarget, collisionKey } from './path-rules.js';
import { checkSymlinksStayInside } from './symlink-rules.js';

/** The package name rule (one path segment under STATE/store); generations/layout.ts builds paths with it. */
export const PACKAGE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;
const PROVENANCE_KEY_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Checks the tree rules over a whole manifest: package name, entry paths, sorted unique paths, no
 * case/Unicode collisions, declared parents, file sizes and inline data, symlinks staying inside,
 * sorted unique references, provenance shape, and the limits. Throws ManifestError naming the entry.
 */
export function validateManifest(m: Manifest, limits: ManifestLimits): void {
  if (!PACKAGE_NAME_RE.test(m.name)) {
    throw new ManifestError(`package name ${JSON.stringify(m.name.slice(0, 200))} must be 1-128 of A-Z a-z 0-9 . _ + - starting with a letter or digit`, { field: 'name' });
  }
  if (m.entries.length > limits.maxEntries) {
    throw new ManifestError(`${m.entries.length} entries, more than the limit ${limits.maxEntries}`, { field: 'entries' });
  }
  validateEntries(m.entries, limits);
  validateReferences(m.references, limits);
  validateProvenance(m.provenance, limits);
}

function validateEntries(entries: readonly Entry[], limits: ManifestLimits): void {
  const types = new Map<string, Entry['type']>();
  const folded = new Map<string, string>();
  let prev: string | undefined;
  for (const e of entries) {
    const segments = checkEntryPath(e.path, limits);
    if (prev !== undefined && !(prev < e.path)) {
      const rule = prev === e.path ? 'duplicate path' : 'entries not sorted by path';
      throw new ManifestError(`entry ${JSON.stringify(e.path)}: ${rule}`, { path: e.path, rule });
    }
    prev = e.path;
    const key = collisionKey(e.path);
    const other = folded.get(key);
    if (other !== undefined) {
      throw new ManifestError(`entries ${JSON.stringify(other)} and ${JSON.stringify(e.path)} collide on a case-insensitive or normalising filesystem`, { path: e.path, other, rule: 'collision' });
    }
    folded.set(key, e.path);
    if (segments.length > 1) {
      const parent = segments.slice(0, -1).join('/');
      if (types.get(parent) !== 'dir') {
        throw new ManifestError(`entry ${JSON.stringify(e.path)}: parent ${JSON.stringify(parent)} is not a declared directory`, { path: e.path, rule: 'parent' });
      }
    }
    types.set(e.path, e.type);
    if (e.type === 'file') validateFile(e, limits);
    else if (e.type === 'symlink') checkSymlinkTarget(e.path, e.target, limits);
  }
  checkSymlinksStayInside(entries);
}

function validateFile(e: Extract<Entry, { type: 'file' }>, limits: ManifestLimits): void {
  if (e.size > limits.maxFileBytes) {
    throw new ManifestError(`file ${JSON.stringify(e.path)}: size ${e.size} over the limit ${limits.maxFileBytes}`, { path: e.path, rule: 'size' });
  }
  if (e.data === undefined) return;
  const bytes = Buffer.from(e.data, 'base64');
  if (bytes.toString('base64') !== e.data || bytes.length !== e.size) {
    throw new ManifestError(`file ${JSON.stringify(e.path)}: inline data is not canonical base64 of ${e.size} bytes`, { path: e.path, rule: 'inline' });
  }
}

function validateReferences(refs: readonly string[], limits: ManifestLimits): void {
  if (refs.length > limits.maxReferences) {
    throw new ManifestError(`${refs.length} references, more than the limit ${limits.maxReferences}`, { field: 'references' });
  }
  let prev = '';
  for (const r of refs) {
    if (!isDigest(r)) throw new ManifestError(`reference ${JSON.stringify(String(r).slice(0, 100))} is not sha256: + 64 lowercase hex`, { field: 'references' });
    if (!(prev < r)) throw new ManifestError(`references must be sorted and unique (at ${r})`, { field: 'references' });
    prev = r;
  }
}

function validateProvenance(p: Record<string, string>, limits: ManifestLimits): void {
  const keys = Object.keys(p);
  if (keys.length > limits.maxProvenanceKeys) {
    throw new ManifestError(`${keys.length} provenance keys, more than the limit ${limits.maxProvenanceKeys}`, { field: 'provenance' });
  }
  for (const k of keys) {
    if (!PROVENANCE_KEY_RE.test(k)) throw new ManifestError(`provenance key ${JSON.stringify(k.slice(0, 80))} must be 1-64 of A-Z a-z 0-9 . _ -`, { field: 'provenance' });
    if (Buffer.byteLength(p[k] ?? '', 'utf8') > limits.maxProvenanceValueBytes) {
      throw new ManifestError(`provenance ${k} longer than ${limits.maxProvenanceValueBytes} bytes`, { field: `provenance.${k}` });
    }
  }
}
