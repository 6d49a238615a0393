import { canonicalJson } from './canonical-json.js';
import type { Entry, Manifest } from './manifest-types.js';

/**
 * An entry as an object whose keys are inserted in sorted order, so the native JSON.stringify writes it
 * canonically. Each literal has one fixed shape, which the serialiser walks without looking keys up.
 */
function sortedEntry(e: Entry): object {
  if (e.type === 'file') {
    return e.data === undefined
      ? { digest: e.digest, executable: e.executable, path: e.path, size: e.size, type: e.type }
      : { data: e.data, digest: e.digest, executable: e.executable, path: e.path, size: e.size, type: e.type };
  }
  if (e.type === 'dir') return { path: e.path, type: e.type };
  return { path: e.path, target: e.target, type: e.type };
}

/**
 * The canonical JSON text of a manifest (what canonical-json.ts gives for it), written for the manifest's
 * own shape rather than through the generic sorted copy: every fresh manifest read is re-encoded to check
 * its bytes are canonical, and on a cold process the generic copy (Object.keys, sort and a regex per key,
 * two copies of every entry) took 25 ms of a 2,000-entry closure's 50 ms parse, and most of its garbage.
 * The entry fields are the exact set manifest-decode.ts admits; provenance, free-form, goes through the
 * generic path. test/packages/manifest-json.test.ts holds the two equal over every kind of entry.
 */
export function manifestJson(m: Manifest): string {
  if (!Number.isSafeInteger(m.format) || m.format < 0) throw new RangeError(`not a canonical integer: ${m.format}`);
  for (const e of m.entries) {
    if (e.type === 'file' && (!Number.isSafeInteger(e.size) || e.size < 0)) throw new RangeError(`not a canonical integer: ${e.size}`);
  }
  const entries = JSON.stringify(m.entries.map(sortedEntry));
  return `{"entries":${entries},"format":${m.format},"name":${JSON.stringify(m.name)},"provenance":${canonicalJson({ ...m.provenance })},"references":${JSON.stringify(m.references)}}`;
}
