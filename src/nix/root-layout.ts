import { join } from 'node:path';
import { NIX_STORE_DIR } from './store-path.js';

// What Flotilla keeps under a Nix root beside the store, in ROOT/nix/var/flotilla/ (as Nix keeps its own
// database in ROOT/nix/var/nix/): records about that root's paths, so they live and die with the root
// whichever state dir or CLI run placed them. Every path of it is built here.

/** `<root>/nix/store`: where a closure is materialised under `root` ('/' for the host's own store). */
export function nixStoreDirUnder(root: string): string {
  return join(root, NIX_STORE_DIR);
}

/** ROOT/nix/var/flotilla: Flotilla's records about the store paths of `root`. */
export function flotillaVarUnder(root: string): string {
  return join(root, 'nix', 'var', 'flotilla');
}

/** Where verified narinfos of paths placed under `root` are kept, one `<hash>.narinfo` per path. */
export function narInfoCacheDirUnder(root: string): string {
  return join(flotillaVarUnder(root), 'narinfo');
}

/** The record of the paths Flotilla knows to be valid in the Nix database of `root`. */
export function registeredRecordUnder(root: string): string {
  return join(flotillaVarUnder(root), 'registered.json');
}

/** The SQLite file of the Nix database of `root` (the host's own at `/`). */
export function nixDbFileUnder(root: string): string {
  return join(root, 'nix', 'var', 'nix', 'db', 'db.sqlite');
}
