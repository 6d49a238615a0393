import { InvalidNameError } from '../errors/index.js';
import { isNixBase32 } from './base32.js';

/** The only store directory Flotilla reads or writes (paths are hashed with it, so it cannot move). */
export const NIX_STORE_DIR = '/nix/store';

/** A store path taken apart: `path` is `/nix/store/<hash>-<name>`, `hash` its 32 base-32 characters. */
export interface NixPath {
  path: string;
  hash: string;
  name: string;
}

const HASH_LENGTH = 32;
const MAX_NAME_LENGTH = 211;
const NAME_RE = /^[A-Za-z0-9+\-._?=]+$/;

/** Why `base` (`<hash>-<name>`) is not a store path's last segment, or undefined when it is one. */
function baseProblem(base: string): string | undefined {
  if (base.length < HASH_LENGTH + 2 || base[HASH_LENGTH] !== '-') return 'needs <32-character hash>-<name>';
  if (!isNixBase32(base.slice(0, HASH_LENGTH))) return 'hash is not Nix base-32 (0-9 a-z without e o u t)';
  const name = base.slice(HASH_LENGTH + 1);
  if (name.length > MAX_NAME_LENGTH) return `name is longer than ${MAX_NAME_LENGTH} characters`;
  if (!NAME_RE.test(name)) return 'name may hold only A-Z a-z 0-9 + - . _ ? =';
  if (name.startsWith('.')) return 'name may not start with "."';
  return undefined;
}

/**
 * Parses `/nix/store/<32 base-32 characters>-<name>` with Nix's rules for the name (A-Z a-z 0-9 + - . _ ? =,
 * not starting with ".", at most 211 characters). Throws InvalidNameError naming the string.
 */
export function parseStorePath(s: string): NixPath {
  const prefix = `${NIX_STORE_DIR}/`;
  const shown = JSON.stringify(s.slice(0, 300));
  if (!s.startsWith(prefix)) {
    throw new InvalidNameError(`${shown} is not a Nix store path: it must start with ${prefix}`, { path: s.slice(0, 300) });
  }
  const base = s.slice(prefix.length);
  const why = base.includes('/') ? 'must name a top-level store entry (no "/" after the hash-name)' : baseProblem(base);
  if (why !== undefined) throw new InvalidNameError(`${shown} is not a Nix store path: ${why}`, { path: s.slice(0, 300) });
  return { path: s, hash: base.slice(0, HASH_LENGTH), name: base.slice(HASH_LENGTH + 1) };
}

/** The full path of a store entry's base name (`<hash>-<name>`, as References lists them). Throws like parseStorePath. */
export function storePathOfBase(base: string): NixPath {
  return parseStorePath(`${NIX_STORE_DIR}/${base}`);
}

/** `<hash>-<name>`: the path's entry in the store directory. */
export function storeBaseName(p: NixPath): string {
  return `${p.hash}-${p.name}`;
}
