import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { readCurrent, readGeneration, setPaths, setsDir, type Generation } from '../generations/index.js';
import { packageDirName, packageLinkTarget, packagePath } from '../generations/layout.js';
import { listGenerationDirs } from '../generations/generation.js';
import type { Damage } from './fsck-types.js';

/** What the generation check found: its damage, and each readable generation with the package dirs it links. */
export interface GenerationCheck {
  damaged: Damage[];
  generations: Array<{ set: string; generation: Generation; packages: string[] }>;
}

async function linkDamage(gen: Generation, name: string, expected: string, pkg: string): Promise<Damage | undefined> {
  const path = join(gen.path, name);
  const target = await readlink(path).catch(() => undefined);
  if (target !== expected) return { kind: 'generation', path, problem: 'package link differs from origin.json', expected, actual: target ?? 'missing' };
  if ((await lstat(pkg).catch(() => undefined))?.isDirectory() !== true) return { kind: 'generation', path, problem: 'the package it links is missing', expected: pkg, actual: 'nothing' };
  return undefined;
}

/** The sets to check: `only`, or every set dir of the state dir. */
async function setNames(stateDir: string, only?: readonly string[]): Promise<string[]> {
  if (only !== undefined) return [...only];
  const names = await readdir(setsDir(stateDir)).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  return names.filter((n) => !n.startsWith('.')).sort();
}

/**
 * Checks each generation of each set (or of `only`): origin.json parses and matches its directory name,
 * every package link points where origin.json says and at a package that exists, and `current` points at a
 * generation that exists. Throws InvalidNameError for a set name that cannot be a path segment.
 */
export async function checkGenerations(stateDir: string, only?: readonly string[]): Promise<GenerationCheck> {
  const out: GenerationCheck = { damaged: [], generations: [] };
  for (const set of await setNames(stateDir, only)) {
    const paths = setPaths(stateDir, set);
    const dirs = await listGenerationDirs(paths);
    for (const { dirName } of dirs) {
      let gen: Generation;
      try {
        gen = await readGeneration(paths, dirName);
      } catch (err) {
        out.damaged.push({ kind: 'generation', path: join(paths.generationsDir, dirName), problem: (err as Error).message });
        continue;
      }
      const packages: string[] = [];
      for (const p of gen.origin.packages) {
        packages.push(packageDirName(p.digest, p.name));
        const damage = await linkDamage(gen, p.name, packageLinkTarget(p.digest, p.name), packagePath(stateDir, p.digest, p.name));
        if (damage) out.damaged.push(damage);
      }
      out.generations.push({ set, generation: gen, packages });
    }
    try {
      const cur = await readCurrent(paths.current);
      if (cur !== undefined && !dirs.some((d) => d.dirName === cur.dirName)) out.damaged.push({ kind: 'generation', path: paths.current, problem: 'points at a generation that does not exist', expected: 'an existing generation', actual: cur.dirName });
    } catch (err) {
      out.damaged.push({ kind: 'generation', path: paths.current, problem: (err as Error).message });
    }
  }
  return out;
}
