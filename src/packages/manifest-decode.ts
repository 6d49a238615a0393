import { ManifestError } from '../errors/index.js';
import type { Digest } from '../store/digest.js';
import { isDigest } from '../store/digest.js';
import { MANIFEST_FORMAT, type Entry, type Manifest } from './manifest-types.js';

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(message: string, field: string): never {
  throw new ManifestError(message, { field });
}

/** Refuses any key outside `allowed` and any missing `required` key. */
function checkKeys(o: Json, allowed: readonly string[], required: readonly string[], where: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(`${where}: unknown field ${JSON.stringify(k.slice(0, 80))}`, `${where}.${k}`);
  for (const k of required) if (!(k in o)) fail(`${where}: missing field "${k}"`, `${where}.${k}`);
}

function str(o: Json, k: string, where: string): string {
  const v = o[k];
  if (typeof v !== 'string') fail(`${where}: "${k}" must be a string`, `${where}.${k}`);
  return v;
}

function size(o: Json, k: string, where: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(`${where}: "${k}" must be a non-negative integer`, `${where}.${k}`);
  return v;
}

function digest(o: Json, k: string, where: string): Digest {
  const v = o[k];
  // An algorithm other than sha256 (or any other spelling) is refused here, before it names an object.
  if (!isDigest(v)) fail(`${where}: "${k}" must be "sha256:" + 64 lowercase hex (other algorithms are refused)`, `${where}.${k}`);
  return v;
}

function decodeEntry(v: unknown, i: number): Entry {
  const where = `entries[${i}]`;
  if (!isObject(v)) fail(`${where} must be an object`, where);
  const type = v['type'];
  if (type === 'dir') {
    checkKeys(v, ['type', 'path'], ['type', 'path'], where);
    return { type, path: str(v, 'path', where) };
  }
  if (type === 'symlink') {
    checkKeys(v, ['type', 'path', 'target'], ['type', 'path', 'target'], where);
    return { type, path: str(v, 'path', where), target: str(v, 'target', where) };
  }
  if (type === 'file') {
    checkKeys(v, ['type', 'path', 'size', 'digest', 'executable', 'data'], ['type', 'path', 'size', 'digest', 'executable'], where);
    const executable = v['executable'];
    if (typeof executable !== 'boolean') fail(`${where}: "executable" must be a boolean`, `${where}.executable`);
    const e: Entry = { type, path: str(v, 'path', where), size: size(v, 'size', where), digest: digest(v, 'digest', where), executable };
    if ('data' in v) e.data = str(v, 'data', where);
    return e;
  }
  return fail(`${where}: "type" must be file, dir or symlink (device files, FIFOs, sockets and hardlinks are refused)`, `${where}.type`);
}

/**
 * Turns parsed JSON into a typed Manifest: exact field set at every level, right types, sha256 digests only.
 * Does not check path rules (manifest-validate.ts does). Throws ManifestError naming the field.
 */
export function decodeManifest(v: unknown): Manifest {
  if (!isObject(v)) fail('manifest must be a JSON object', '');
  checkKeys(v, ['format', 'name', 'entries', 'references', 'provenance'], ['format', 'name', 'entries', 'references', 'provenance'], 'manifest');
  if (v['format'] !== MANIFEST_FORMAT) fail(`unsupported manifest format ${JSON.stringify(v['format'])} (this version reads ${MANIFEST_FORMAT})`, 'format');
  const entries = v['entries'];
  const refs = v['references'];
  const prov = v['provenance'];
  if (!Array.isArray(entries)) fail('"entries" must be an array', 'entries');
  if (!Array.isArray(refs)) fail('"references" must be an array', 'references');
  if (!isObject(prov)) fail('"provenance" must be an object', 'provenance');
  const provenance: Record<string, string> = {};
  for (const [k, val] of Object.entries(prov)) {
    if (typeof val !== 'string') fail(`provenance "${k.slice(0, 80)}" must be a string`, `provenance.${k}`);
    provenance[k] = val;
  }
  return {
    format: MANIFEST_FORMAT,
    name: str(v, 'name', 'manifest'),
    entries: entries.map(decodeEntry),
    references: refs.map((r, i) => digest({ r }, 'r', `references[${i}]`)),
    provenance,
  };
}
