import { join } from 'node:path';
import { digestHex, shortDigest, type Digest } from '../store/digest.js';
import { checkName } from '../store/keys.js';

/** The state dir used when neither --state nor FLOTILLA_STATE_DIR is given. */
export const DEFAULT_STATE_DIR = '/var/lib/flotilla';

/** Picks the state dir: an explicit option, then FLOTILLA_STATE_DIR, then /var/lib/flotilla. */
export function resolveStateDir(option: string | undefined, env: NodeJS.ProcessEnv): string {
  return option ?? env['FLOTILLA_STATE_DIR'] ?? DEFAULT_STATE_DIR;
}

/**
 * Paths inside one set's directory. The layout (DESIGN.md §5):
 *   sets/SET/generations/N-<short>/   one generation (package links + origin.json)
 *   sets/SET/current                  -> generations/N-<short> (relative)
 *   sets/SET/state.json               pending switch, active generation, bad digests
 *   sets/SET/lock                     the set lock (see set-lock.ts)
 * Throws InvalidNameError when `set` cannot be one path segment.
 */
export interface SetPaths {
  stateDir: string;
  set: string;
  setDir: string;
  generationsDir: string;
  current: string;
  stateFile: string;
  lock: string;
}

/** Builds the paths of one set, validating the set name first (InvalidNameError). */
export function setPaths(stateDir: string, set: string): SetPaths {
  checkName(set, 'set name');
  const setDir = join(stateDir, 'sets', set);
  return {
    stateDir,
    set,
    setDir,
    generationsDir: join(setDir, 'generations'),
    current: join(setDir, 'current'),
    stateFile: join(setDir, 'state.json'),
    lock: join(setDir, 'lock'),
  };
}

/** Where sets live: STATE/sets. */
export function setsDir(stateDir: string): string {
  return join(stateDir, 'sets');
}

/** Where fetch materialises packages: STATE/store. */
export function storeDir(stateDir: string): string {
  return join(stateDir, 'store');
}

/** Where fetch keeps verified objects: STATE/objects/sha256. */
export function objectsDir(stateDir: string): string {
  return join(stateDir, 'objects', 'sha256');
}

/** The directory name of a materialised package: `<64 hex>-<name>`. Validates the name (InvalidNameError). */
export function packageDirName(digest: Digest, name: string): string {
  return `${digestHex(digest)}-${checkName(name, 'package name')}`;
}

/** The link target stored in a generation for a package: relative, so the state dir can move. */
export function packageLinkTarget(digest: Digest, name: string): string {
  return `../../../../store/${packageDirName(digest, name)}`;
}

/** A generation's directory name: `N-<first 12 hex of the closure digest>`. */
export function generationDirName(n: number, digest: Digest): string {
  return `${n}-${shortDigest(digest)}`;
}

const GEN_RE = /^([1-9][0-9]{0,9})-([0-9a-f]{12})$/;

/** Parses `N-<short>`; undefined for anything else (temp names, strays). */
export function parseGenerationDirName(name: string): { number: number; short: string } | undefined {
  const m = GEN_RE.exec(name);
  if (!m?.[1] || !m[2]) return undefined;
  return { number: Number(m[1]), short: m[2] };
}

/** The relative target `current` holds for a generation dir name. */
export function currentTarget(dirName: string): string {
  return `generations/${dirName}`;
}

/** Prefix of every temporary name this module creates; recovery removes leftovers that carry it. */
export const TEMP_PREFIX = '.tmp-';

