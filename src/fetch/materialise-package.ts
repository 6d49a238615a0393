import { lstat, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from '../store/digest.js';
import type { LoadedManifest } from '../packages/manifest-types.js';
import { fsyncDir } from '../util/atomic-write.js';
import { flushFilesystem } from '../util/flush-filesystem.js';
import { removeTree } from '../util/remove-tree.js';
import { isPidAlive } from '../util/pid-alive.js';
import { throwIfFailed, type FsOpRunner } from './fs-op-runner.js';
import type { FsOp } from './fs-ops.js';
import { packageDirName, packagePartialName, partialOwner } from '../generations/layout.js';

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes `.partial-<pid>-…` directories under `storeDir` whose process is gone (a crash or kill -9).
 * `names`: storeDir's entries when the caller already listed it.
 */
export async function removeStalePartials(storeDir: string, names?: readonly string[]): Promise<void> {
  for (const n of names ?? (await readdir(storeDir))) {
    const pid = partialOwner(n);
    if (pid === undefined) continue;
    if (!Number.isInteger(pid) || !isPidAlive(pid)) await removeTree(join(storeDir, n));
  }
}

/** A package built under a partial name, ready to be published by one rename. */
export interface PreparedPackage {
  final: string;
  /** Absent when the final directory already existed (reused as is). */
  partial?: string;
  /** Every directory of the partial tree (for the per-file fsync fallback of the flush). */
  dirs: string[];
}

/** A package tree begun: its directories made (still writable), and the objects to be written into it. */
export interface StartedPackage extends PreparedPackage {
  /** Paths in the partial tree that are objects' homes (object-homes.ts): written by the object fetch. */
  homed: Set<string>;
}

/**
 * Where entry `path` lies in the tree under `root`, put together by hand: the path rules (path-rules.ts)
 * leave an entry path nothing to normalise (relative, no empty, "." or ".." segment) and `root` is
 * path.join's output, while path.join would normalise the whole string again for each of thousands of
 * entries (a few milliseconds of a 2,130-entry closure, twice, on the main thread).
 */
function entryPath(root: string, path: string): string {
  return `${root}/${path}`;
}

/** The directory steps of a package's tree under `partial`: the partial directory, then every declared one. */
function treeSteps(partial: string, p: LoadedManifest): { dirs: string[]; mkdirs: FsOp[] } {
  const dirs: string[] = [partial];
  const mkdirs: FsOp[] = [{ op: 'mkdir', path: partial, mode: 0o755 }];
  // Entries come sorted by path, so a directory precedes everything under it.
  for (const e of p.manifest.entries) {
    if (e.type !== 'dir') continue;
    const path = entryPath(partial, e.path);
    mkdirs.push({ op: 'mkdir', path, mode: 0o755 });
    dirs.push(path);
  }
  return { dirs, mkdirs };
}

/** Runs a tree's mkdir steps; on failure removes the partial tree and rethrows. */
async function makeDirs(partial: string, mkdirs: readonly FsOp[], fsOps: FsOpRunner): Promise<void> {
  try {
    throwIfFailed(await fsOps.run(mkdirs));
  } catch (err) {
    await removeTree(partial);
    throw err;
  }
}

/**
 * Makes a package's tree under storeDir/.partial-<pid>-…-<hex>-<name>/: its directories, writable until
 * finishPackage (`dirs`: the partial directory and every one under it). An existing final directory is
 * reused (no partial). On failure the partial tree is removed and the error rethrown.
 */
async function makePackageTree(storeDir: string, p: LoadedManifest, fsOps: FsOpRunner): Promise<PreparedPackage> {
  const final = join(storeDir, packageDirName(p.digest, p.manifest.name));
  if (await exists(final)) return { final, dirs: [] };
  const partial = join(storeDir, packagePartialName(p.digest, p.manifest.name));
  const { dirs, mkdirs } = treeSteps(partial, p);
  await makeDirs(partial, mkdirs, fsOps);
  return { final, partial, dirs };
}

/** A package tree whose paths are known and whose directories are being made (beginPackageTree). */
export interface TreeInProgress {
  tree: PreparedPackage & { partial: string };
  /** Settles once every directory exists; rejects (the partial tree removed) when one could not be made. */
  made: Promise<void>;
}

/**
 * Begins a package's tree as makePackageTree does, but returns its paths at once, its directories still
 * being made (`made`): a fetch can then give objects their homes in it, and ask for them, while the
 * directories are made; nothing may be written into it before `made`. Always a partial tree, with no look
 * for a final directory first: for a fetch into an empty store/, where a final directory published
 * meanwhile by another fetch wins the rename at publishPackages.
 */
export function beginPackageTree(storeDir: string, p: LoadedManifest, fsOps: FsOpRunner): TreeInProgress {
  const final = join(storeDir, packageDirName(p.digest, p.manifest.name));
  const partial = join(storeDir, packagePartialName(p.digest, p.manifest.name));
  const { dirs, mkdirs } = treeSteps(partial, p);
  return { tree: { final, partial, dirs }, made: makeDirs(partial, mkdirs, fsOps) };
}

/**
 * Begins a package: its tree (`tree`, when begun ahead, see beginPackageTree, else made now, see
 * makePackageTree) and, for each non-executable file entry whose object is in `homeless`, makes that path
 * the object's home in `homes` and takes it out of `homeless` (an object gets one home; an executable
 * entry gets none, its inode would need the 0555 mode the cache keeps apart). Called package by package in
 * closure order, so which package homes a shared object does not depend on timing.
 */
export async function startPackage(storeDir: string, p: LoadedManifest, fsOps: FsOpRunner, homes: Map<Digest, string>, homeless: Set<Digest>, tree?: PreparedPackage): Promise<StartedPackage> {
  const { final, partial, dirs } = tree ?? (await makePackageTree(storeDir, p, fsOps));
  const homed = new Set<string>();
  if (partial === undefined) return { final, dirs: [], homed };
  for (const e of p.manifest.entries) {
    if (e.type !== 'file' || e.executable || !homeless.delete(e.digest)) continue;
    const path = entryPath(partial, e.path);
    homes.set(e.digest, path);
    homed.add(path);
  }
  return { final, partial, dirs, homed };
}

/**
 * Completes a started package from verified objects (`source` says where each is: the cache, a temp file
 * still queued for it, or its home in this or another partial tree): hardlinks and symlinks for every
 * entry not already written at its home, then directories made 0555 deepest first (files get 0444/0555 as
 * they are written or committed). Nothing is flushed or published yet. On failure the caller removes the
 * partial tree (with those of the other packages, whose files this one may link).
 */
export async function finishPackage(started: StartedPackage, source: (digest: Digest, executable: boolean) => string, p: LoadedManifest, fsOps: FsOpRunner): Promise<PreparedPackage> {
  const { final, partial, dirs, homed } = started;
  if (partial === undefined) return { final, dirs };
  const leaves: FsOp[] = [];
  for (const e of p.manifest.entries) {
    const path = entryPath(partial, e.path);
    if (e.type === 'file' && !homed.has(path)) leaves.push({ op: 'link', from: source(e.digest, e.executable), to: path });
    else if (e.type === 'symlink') leaves.push({ op: 'symlink', target: e.target, path });
  }
  // Deepest first, so a parent turns read-only only after its children are done.
  const modes: FsOp[] = dirs.slice(1).reverse().map((d) => ({ op: 'chmod', path: d, mode: 0o555 }));
  modes.push({ op: 'chmod', path: partial, mode: 0o555 });
  throwIfFailed(await fsOps.runSpread(leaves));
  throwIfFailed(await fsOps.run(modes));
  return { final, partial, dirs };
}

/**
 * Publishes prepared packages: one filesystem flush for all of them (entries and modes durable before any
 * rename; skipped when the caller's flush already covered them, `flushed`), then one rename each to the final name, then fsync of storeDir. Losing a rename race to another
 * fetch is fine (theirs is complete). A crash leaves partial directories, never an incomplete final one.
 * Returns the final paths in order.
 */
export async function publishPackages(storeDir: string, prepared: PreparedPackage[], durable = true, flushed = false): Promise<string[]> {
  const todo = prepared.filter((p) => p.partial !== undefined);
  try {
    if (durable && !flushed && todo.length > 0) await flushFilesystem(storeDir, todo.flatMap((p) => p.dirs));
    for (const p of todo) {
      try {
        await rename(p.partial as string, p.final);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (!((code === 'ENOTEMPTY' || code === 'EEXIST') && (await exists(p.final)))) throw err;
        await removeTree(p.partial as string);
      }
    }
  } catch (err) {
    for (const p of todo) await removeTree(p.partial as string);
    throw err;
  }
  if (todo.length > 0) await fsyncDir(storeDir);
  return prepared.map((p) => p.final);
}
