import { InvalidDigestError } from '../errors/index.js';
import { digestHex, isDigest, type Digest } from './digest.js';

// The one home of "what kind of closure is this". A set pins either a Flotilla closure (the sha256 digest of
// its signed manifest, fetched from a Flotilla store) or a Nix store path (fetched from a Nix binary cache
// and unpacked into <root>/nix/store). Everything that keys on a closure (status, quarantine, rollout ids,
// generations, bad-closure memory) keys on this string as is; only fetching, materialising and GC ask which
// kind it is, through closureKind / storeKindOf below.

/** A validated Nix store path: `/nix/store/<32 Nix base-32 characters>-<name>`. */
export type NixStorePath = string & { readonly __nixStorePath: unique symbol };

/** What a set pins: a Flotilla closure digest or a Nix store path. */
export type ClosureRef = Digest | NixStorePath;

/** The two kinds of closure (and of store they come from). */
export type ClosureKind = 'flotilla' | 'nix';

/** Nix's store directory; a different StoreDir is refused (the cache's nix-cache-info must say the same). */
export const NIX_STORE_DIR = '/nix/store';

// Nix's base-32 alphabet omits e, o, u and t; names are Nix's store path name characters, at most 211 long.
const NIX_PATH_RE = /^\/nix\/store\/([0-9abcdfghijklmnpqrsvwxyz]{32})-([A-Za-z0-9+\-._?=][A-Za-z0-9+\-._?=]{0,210})$/;

/** True when `value` is a well-formed Nix store path. */
export function isNixStorePath(value: unknown): value is NixStorePath {
  if (typeof value !== 'string') return false;
  const m = NIX_PATH_RE.exec(value);
  // Nix refuses names that are `.` or `..` or start with a dot (they would hide or escape in the store).
  return m !== null && !m[2]?.startsWith('.');
}

/** True when `value` is a closure reference of either kind. */
export function isClosureRef(value: unknown): value is ClosureRef {
  return isDigest(value) || isNixStorePath(value);
}

/**
 * Validates a closure reference at the edge. Throws InvalidDigestError naming `what` when it is neither
 * `sha256:` + 64 lowercase hex nor `/nix/store/<hash>-<name>`.
 */
export function parseClosureRef(value: unknown, what = 'closure'): ClosureRef {
  if (isClosureRef(value)) return value;
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 120)) : typeof value;
  const hint = typeof value === 'string' && value.startsWith('/nix/')
    ? ' (a Nix store path is /nix/store/ followed by 32 Nix base-32 characters, "-" and a name)'
    : '';
  throw new InvalidDigestError(`${what} must be a closure digest (sha256: and 64 lowercase hex) or a Nix store path (/nix/store/<hash>-<name>), got ${shown}${hint}`, { what });
}

/** Which kind of closure `ref` is. */
export function closureKind(ref: ClosureRef): ClosureKind {
  return isDigest(ref) ? 'flotilla' : 'nix';
}

/** The 32-character hash part of a Nix store path (the name of its narinfo). */
export function nixHashPart(path: NixStorePath): string {
  return path.slice(NIX_STORE_DIR.length + 1, NIX_STORE_DIR.length + 33);
}

/** The name part of a Nix store path (after `<hash>-`). */
export function nixNamePart(path: NixStorePath): string {
  return path.slice(NIX_STORE_DIR.length + 34);
}

/** A short form for generation names and logs: the first 12 characters of the digest hex or the Nix hash. */
export function shortClosure(ref: ClosureRef): string {
  return (isDigest(ref) ? digestHex(ref) : nixHashPart(ref)).slice(0, 12);
}

/** A short human form: 12 hex for a digest, `<12 hash>-<name>` for a Nix path. */
export function displayClosure(ref: ClosureRef): string {
  return isDigest(ref) ? `sha256:${shortClosure(ref)}` : `${shortClosure(ref)}-${nixNamePart(ref)}`;
}

/** URL schemes of Nix binary caches (src/nix parses the rest of such a URL). */
export const NIX_CACHE_SCHEMES = ['nix+file:', 'nix+http:', 'nix+https:', 'nix+s3:'] as const;

/** The kind of closure a store URL serves: a Nix binary cache (`nix+file://`, `nix+http(s)://`, `nix+s3://`) or a Flotilla store. */
export function storeKindOf(url: string): ClosureKind {
  return url.startsWith('nix+') ? 'nix' : 'flotilla';
}

/** The store URLs, in mirror order, that can serve a closure of `kind`. */
export function storesFor<T extends string>(urls: readonly T[], kind: ClosureKind): T[] {
  return urls.filter((u) => storeKindOf(u) === kind);
}

/**
 * The closure as one store key segment (quarantine records): the digest's 64 hex, or `nix-<hash>` for a
 * Nix path (its hash alone names it in the store; the record itself holds the full path).
 */
export function closureKeySegment(ref: ClosureRef): string {
  return isDigest(ref) ? digestHex(ref) : `nix-${nixHashPart(ref)}`;
}

/** True when `segment` is a key segment closureKeySegment can make. */
export function isClosureKeySegment(segment: string): boolean {
  return /^(?:[0-9a-f]{64}|nix-[0-9abcdfghijklmnpqrsvwxyz]{32})$/.test(segment);
}
