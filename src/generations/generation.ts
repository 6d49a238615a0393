import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ActivationSpec, HealthSpec } from '../activation/spec.js';
import { isClosureRef, isNixStorePath, shortClosure, type ClosureRef, type NixStorePath } from '../store/closure-ref.js';
import { isDigest, type Digest } from '../store/digest.js';
import { GenerationError, NotFoundError } from '../errors/index.js';
import { ORIGIN_FILE, parseGenerationDirName, setPaths, type SetPaths } from './layout.js';

/** A package of a generation: its manifest digest and the name it is linked under. */
export interface GenerationPackage {
  digest: Digest;
  name: string;
}

/**
 * A Nix closure's part of a generation: the chroot root it was unpacked under (`/` on a real machine) and
 * every store path of the closure (the top path first), so GC and Nix's GC roots know what it uses.
 */
export interface GenerationNix {
  root: string;
  paths: NixStorePath[];
  /**
   * Each path's NarHash (`sha256:<base-32>`) as its signed narinfo gave it when the closure was fetched:
   * what `flotilla fsck` re-hashes the placed path against. Absent in generations staged before it was kept.
   */
  narHashes?: Record<NixStorePath, string>;
}

/** origin.json beside a generation's links: where it came from (after ostree's `.origin`). */
export interface Origin {
  version: 1;
  set: string;
  number: number;
  /** The closure: a Flotilla digest, or a Nix store path (then `nix` is present and `packages` empty). */
  digest: ClosureRef;
  time: string;
  packages: GenerationPackage[];
  nix?: GenerationNix;
  commit?: string;
  signer?: string;
  /**
   * How this generation is activated and health-checked, as declared when it was staged. A rollback re-runs
   * the target's own recorded activation (as Nix re-runs a generation's own activation script), so going
   * back never depends on the repo still declaring the old way of starting it.
   */
  activation?: ActivationSpec;
  health?: HealthSpec;
}

/** One generation on disk. */
export interface Generation {
  number: number;
  /** `N-<short digest>` */
  dirName: string;
  /** Absolute (or state-dir relative, as given) path of the generation directory. */
  path: string;
  digest: ClosureRef;
  origin: Origin;
}

function bad(file: string, why: string): never {
  throw new GenerationError(`${file}: ${why}`, { file });
}

function parseNix(file: string, v: unknown): GenerationNix | undefined {
  if (v === undefined) return undefined;
  const n = v as Record<string, unknown> | null;
  if (!n || typeof n['root'] !== 'string' || !Array.isArray(n['paths']) || !n['paths'].every(isNixStorePath)) bad(file, 'nix must have a root and the store paths of the closure');
  const h = n['narHashes'];
  if (h === undefined) return { root: n['root'], paths: n['paths'] };
  const paths = new Set<string>(n['paths']);
  const ok = typeof h === 'object' && h !== null && !Array.isArray(h) && Object.entries(h).every(([k, v]) => paths.has(k) && typeof v === 'string' && NAR_HASH_RE.test(v));
  if (!ok) bad(file, 'nix.narHashes must map paths of the closure to sha256:<base-32> hashes');
  return { root: n['root'], paths: n['paths'], narHashes: h as Record<NixStorePath, string> };
}

const NAR_HASH_RE = /^sha256:[0-9a-df-np-sv-z]{52}$/;

/** Validates origin.json contents; GenerationError naming the file and field. */
export function parseOrigin(file: string, raw: unknown): Origin {
  if (typeof raw !== 'object' || raw === null) bad(file, 'must be a JSON object');
  const o = raw as Record<string, unknown>;
  if (o['version'] !== 1) bad(file, 'version must be 1');
  if (typeof o['set'] !== 'string') bad(file, 'set must be a string');
  if (typeof o['number'] !== 'number' || !Number.isInteger(o['number'])) bad(file, 'number must be an integer');
  if (!isClosureRef(o['digest'])) bad(file, 'digest must be a sha256 digest or a Nix store path');
  if (typeof o['time'] !== 'string') bad(file, 'time must be a string');
  if (!Array.isArray(o['packages'])) bad(file, 'packages must be an array');
  const packages = o['packages'].map((p: unknown, i): GenerationPackage => {
    const q = p as Record<string, unknown> | null;
    if (!q || !isDigest(q['digest']) || typeof q['name'] !== 'string') bad(file, `packages[${i}] must have a digest and a name`);
    return { digest: q['digest'], name: q['name'] };
  });
  const nix = parseNix(file, o['nix']);
  for (const k of ['commit', 'signer'] as const) if (o[k] !== undefined && typeof o[k] !== 'string') bad(file, `${k} must be a string`);
  for (const k of ['activation', 'health'] as const) if (o[k] !== undefined && (typeof o[k] !== 'object' || o[k] === null || Array.isArray(o[k]))) bad(file, `${k} must be an object`);
  return {
    version: 1,
    set: o['set'],
    number: o['number'],
    digest: o['digest'],
    time: o['time'],
    packages,
    ...(nix ? { nix } : {}),
    ...(typeof o['commit'] === 'string' ? { commit: o['commit'] } : {}),
    ...(typeof o['signer'] === 'string' ? { signer: o['signer'] } : {}),
    // Written by stageGeneration from validated declarations; the state dir is ours alone.
    ...(o['activation'] !== undefined ? { activation: o['activation'] as ActivationSpec } : {}),
    ...(o['health'] !== undefined ? { health: o['health'] as HealthSpec } : {}),
  };
}

/** Reads one generation directory by name. NotFoundError when absent; GenerationError when origin.json is bad. */
export async function readGeneration(paths: SetPaths, dirName: string): Promise<Generation> {
  const parsed = parseGenerationDirName(dirName);
  if (!parsed) throw new GenerationError(`not a generation name: ${JSON.stringify(dirName)}`, { dirName });
  const path = join(paths.generationsDir, dirName);
  const file = join(path, ORIGIN_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`no generation ${dirName} in set ${paths.set} (${file})`, { file });
    throw err;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    bad(file, 'not valid JSON');
  }
  const origin = parseOrigin(file, raw);
  if (origin.number !== parsed.number || shortClosure(origin.digest) !== parsed.short) {
    bad(file, `number/digest do not match the directory name ${dirName}`);
  }
  return { number: parsed.number, dirName, path, digest: origin.digest, origin };
}

/** The generation directory names of a set (temp names and strays ignored), by ascending number. */
export async function listGenerationDirs(paths: SetPaths): Promise<Array<{ dirName: string; number: number }>> {
  let names: string[];
  try {
    names = await readdir(paths.generationsDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names
    .flatMap((dirName) => {
      const p = parseGenerationDirName(dirName);
      return p ? [{ dirName, number: p.number }] : [];
    })
    .sort((a, b) => a.number - b.number);
}

/** All generations of a set, oldest first. GenerationError if any origin.json is corrupt. */
export async function listGenerations(stateDir: string, set: string): Promise<Generation[]> {
  const paths = setPaths(stateDir, set);
  const dirs = await listGenerationDirs(paths);
  return Promise.all(dirs.map((d) => readGeneration(paths, d.dirName)));
}

/** Finds generation number `n` of a set; NotFoundError naming the set when there is none. */
export async function findGeneration(paths: SetPaths, n: number): Promise<Generation> {
  const hit = (await listGenerationDirs(paths)).find((d) => d.number === n);
  if (!hit) throw new NotFoundError(`set ${paths.set} has no generation ${n}`, { set: paths.set, generation: n });
  return readGeneration(paths, hit.dirName);
}
