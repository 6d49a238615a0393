import type { ActivationSpec, HealthSpec } from '../activation/spec.js';
import { mkdir, open, rename, rm, stat, symlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseClosureRef, shortClosure, type ClosureRef } from '../store/closure-ref.js';
import { parseDigest, type Digest } from '../store/digest.js';
import { GenerationError } from '../errors/index.js';
import { fsyncDir } from '../util/atomic-write.js';
import { NO_CRASH_POINTS, type CrashPoints } from './crash-points.js';
import { diskFullError, ensureFreeSpace, STATFS_DISK_SPACE, type DiskSpace } from './disk-space.js';
import { listGenerationDirs, readGeneration, type Generation, type GenerationNix, type Origin } from './generation.js';
import { checkPackageName, generationDirName, NIX_OUT_LINK, nixPathUnder, ORIGIN_FILE, packageLinkTarget, packagePath, setPaths, tempName, type SetPaths } from './layout.js';
import { withSetLock } from './set-lock.js';
import { readState, writeState } from './state-file.js';
import { readCurrent } from './symlink.js';

/** A materialised package handed to staging: it must live at STATE/store/<hex>-<name>. */
export interface StagePackage {
  digest: Digest;
  name: string;
  path: string;
}

/** Options of stageGeneration. `crash`, `now` and `space` are ports (tests replace them). */
export interface StageOptions {
  stateDir: string;
  set: string;
  /** The closure: a Flotilla digest, or a Nix store path (then `nix` says where it was unpacked). */
  digest: ClosureRef;
  packages: StagePackage[];
  /** A Nix closure, already placed under `<root>/nix/store`: the generation links `out` to its top path. */
  nix?: GenerationNix;
  origin: { commit?: string; signer?: string; activation?: ActivationSpec; health?: HealthSpec };
  crash?: CrashPoints;
  now?: () => Date;
  space?: DiskSpace;
}

/** What staging did: the generation for the closure, and whether a new directory was made. */
export interface StageResult {
  generation: Generation;
  created: boolean;
}

// A generation is a directory, one link per package and a small origin.json; ask for a generous margin
// so that a nearly full disk fails here, before anything is written, rather than halfway.
const BASE_BYTES = 64 * 1024;
const PER_PACKAGE_BYTES = 4096;

async function checkPackages(stateDir: string, packages: StagePackage[]): Promise<void> {
  const seen = new Set<string>();
  for (const [i, p] of packages.entries()) {
    parseDigest(p.digest, `packages[${i}].digest`);
    checkPackageName(p.name);
    if (p.name === ORIGIN_FILE) throw new GenerationError(`packages[${i}]: a package may not be named ${ORIGIN_FILE}`, { name: p.name });
    if (seen.has(p.name)) throw new GenerationError(`two packages of the closure are named ${p.name}`, { name: p.name });
    seen.add(p.name);
    const expected = resolve(packagePath(stateDir, p.digest, p.name));
    if (resolve(p.path) !== expected) throw new GenerationError(`package ${p.name} must be materialised at ${expected}, got ${p.path}`, { name: p.name, path: p.path });
    const st = await stat(expected).catch(() => undefined);
    if (!st?.isDirectory()) throw new GenerationError(`package ${p.name} is not materialised at ${expected}`, { name: p.name, path: expected });
  }
}

async function checkNix(o: StageOptions): Promise<void> {
  if (!o.nix) return;
  if (o.packages.length > 0 || o.nix.paths[0] !== o.digest) throw new GenerationError(`a Nix generation links only its top path ${o.digest}, first of its paths`, { digest: o.digest });
  const top = nixPathUnder(o.nix.root, o.digest);
  const st = await stat(top).catch(() => undefined);
  if (!st) throw new GenerationError(`Nix store path ${o.digest} is not materialised at ${top}`, { path: top });
}

async function findExisting(paths: SetPaths, digest: ClosureRef): Promise<{ generation?: Generation; highest: number }> {
  const dirs = await listGenerationDirs(paths);
  const short = shortClosure(digest);
  let generation: Generation | undefined;
  for (const d of dirs) {
    if (!d.dirName.endsWith(`-${short}`)) continue;
    const g = await readGeneration(paths, d.dirName);
    if (g.digest === digest) generation = g;
  }
  return { ...(generation ? { generation } : {}), highest: dirs.at(-1)?.number ?? 0 };
}

async function writeOrigin(file: string, origin: Origin): Promise<void> {
  const fh = await open(file, 'wx', 0o644);
  try {
    await fh.writeFile(`${JSON.stringify(origin, null, 2)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** mkdir -p, then fsync the parent of every directory it created, so they survive a power cut. */
async function mkdirDurable(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return;
  for (let d = dir; d.length >= first.length; d = dirname(d)) await fsyncDir(dirname(d));
}

async function buildGeneration(paths: SetPaths, n: number, o: StageOptions, crash: CrashPoints): Promise<string> {
  await mkdirDurable(paths.generationsDir);
  const dirName = generationDirName(n, o.digest);
  const tmp = join(paths.generationsDir, tempName(`gen-${n}`));
  const origin: Origin = {
    version: 1,
    set: o.set,
    number: n,
    digest: o.digest,
    time: (o.now ?? (() => new Date()))().toISOString(),
    packages: o.packages.map((p) => ({ digest: p.digest, name: p.name })),
    ...(o.nix ? { nix: o.nix } : {}),
    ...(o.origin.commit !== undefined ? { commit: o.origin.commit } : {}),
    ...(o.origin.signer !== undefined ? { signer: o.origin.signer } : {}),
    ...(o.origin.activation !== undefined ? { activation: o.origin.activation } : {}),
    ...(o.origin.health !== undefined ? { health: o.origin.health } : {}),
  };
  try {
    await mkdir(tmp, { mode: 0o755 });
    for (const p of o.packages) await symlink(packageLinkTarget(p.digest, p.name), join(tmp, p.name));
    if (o.nix) await symlink(nixPathUnder(o.nix.root, o.digest), join(tmp, NIX_OUT_LINK));
    crash.hit('stage:after-links');
    await writeOrigin(join(tmp, ORIGIN_FILE), origin);
    crash.hit('stage:after-origin');
    await fsyncDir(tmp);
    crash.hit('stage:before-rename');
    await rename(tmp, join(paths.generationsDir, dirName));
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw diskFullError(err, paths.generationsDir);
  }
  crash.hit('stage:after-rename');
  await fsyncDir(paths.generationsDir);
  return dirName;
}

/**
 * Stages a closure as a generation of `set` (takes the set lock; re-entrant). Idempotent: a closure equal
 * to `current` returns the current generation, and a digest that already has a generation dir reuses it
 * (`created: false`). Otherwise reserves the next number in state.json (numbers are never reused, even
 * after GC), builds the directory under a `.tmp-` name and renames it to `N-<short digest>`.
 * Fails with GenerationError when a package is missing or misplaced, DiskFullError when the disk is (nearly) full —
 * before `current` or any existing generation is touched; InvalidDigestError/InvalidNameError on bad input.
 */
export async function stageGeneration(options: StageOptions): Promise<StageResult> {
  const digest = parseClosureRef(options.digest, 'closure digest');
  const paths = setPaths(options.stateDir, options.set);
  await checkPackages(options.stateDir, options.packages);
  await checkNix(options);
  const crash = options.crash ?? NO_CRASH_POINTS;
  return withSetLock(options.stateDir, options.set, async () => {
    const cur = await readCurrent(paths.current);
    if (cur) {
      const g = await readGeneration(paths, cur.dirName);
      if (g.digest === digest) return { generation: g, created: false };
    }
    const existing = await findExisting(paths, digest);
    if (existing.generation) return { generation: existing.generation, created: false };
    // The set lock made sets/SET without fsync (a lock need not survive a reboot); a generation must.
    await fsyncDir(dirname(paths.setDir));
    await fsyncDir(paths.stateDir);
    await ensureFreeSpace(options.space ?? STATFS_DISK_SPACE, paths.setDir, BASE_BYTES + PER_PACKAGE_BYTES * options.packages.length);
    const state = await readState(paths.stateFile);
    const n = Math.max(state.lastNumber, existing.highest) + 1;
    try {
      await writeState(paths.stateFile, { ...state, lastNumber: n });
    } catch (err) {
      throw diskFullError(err, paths.setDir);
    }
    crash.hit('stage:after-reserve');
    const dirName = await buildGeneration(paths, n, { ...options, digest }, crash);
    return { generation: await readGeneration(paths, dirName), created: true };
  });
}
