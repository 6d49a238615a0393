import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { objectPath, parsePackageDirName, storeDir } from '../generations/layout.js';
import { hashFile } from '../packages/hash-file.js';
import { decodeCachedManifest, hashBytes } from '../packages/manifest-codec.js';
import type { Entry } from '../packages/manifest-types.js';
import type { Digest } from '../store/digest.js';
import type { Damage, PackageCheck } from './fsck-types.js';

function kindOf(st: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): string {
  return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'special file';
}

/** Every path under `dir`, relative, depth first (directories before their contents). */
async function walk(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const rel = prefix === '' ? e.name : `${prefix}/${e.name}`;
    out.push(rel);
    if (e.isDirectory()) out.push(...(await walk(join(dir, e.name), rel)));
  }
  return out;
}

/** Compares one manifest entry with what is on disk at `path`; the damage, or undefined when it matches. */
async function checkEntry(path: string, e: Entry): Promise<Damage | undefined> {
  const st = await lstat(path).catch(() => undefined);
  if (st === undefined) return { kind: 'package', path, problem: 'missing', expected: e.type, actual: 'nothing' };
  if (kindOf(st) !== e.type) return { kind: 'package', path, problem: 'wrong kind of entry', expected: e.type, actual: kindOf(st) };
  if (e.type === 'symlink') {
    const target = await readlink(path);
    return target === e.target ? undefined : { kind: 'package', path, problem: 'symlink target differs', expected: e.target, actual: target };
  }
  if (e.type !== 'file') return undefined;
  if (st.size !== e.size) return { kind: 'package', path, problem: 'size differs', expected: `${e.size} bytes`, actual: `${st.size} bytes` };
  const { digest } = await hashFile(path, st.size);
  if (digest !== e.digest) return { kind: 'package', path, problem: 'content differs from the manifest', expected: e.digest, actual: digest };
  if (e.executable !== ((st.mode & 0o100) !== 0)) return { kind: 'package', path, problem: 'executable bit differs', expected: e.executable ? 'executable' : 'not executable', actual: `mode 0${(st.mode & 0o777).toString(8)}` };
  return undefined;
}

/**
 * Checks every materialised package (STATE/store/<hex>-<name>/), or those named in `only`, against its
 * manifest from the object cache (re-hashed first): each entry's kind, size, sha256, x bit and symlink
 * target, and nothing on disk that the manifest does not list. A package whose manifest is not cached (or
 * damaged) cannot be verified: that is damage too (`flotilla fetch --repair` brings both back).
 */
export async function checkPackages(stateDir: string, only?: ReadonlySet<string>): Promise<PackageCheck> {
  const root = storeDir(stateDir);
  const names = await readdir(root).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  const out: PackageCheck = { damaged: [], packages: new Map(), objects: new Map(), files: 0 };
  const uses = (d: Digest, dirName: string): void => {
    const set = out.objects.get(d) ?? new Set<string>();
    set.add(dirName);
    out.objects.set(d, set);
  };
  for (const dirName of names.sort()) {
    const parsed = parsePackageDirName(dirName);
    if (parsed === undefined || (only !== undefined && !only.has(dirName))) continue;
    const dir = join(root, dirName);
    out.packages.set(dirName, parsed.digest);
    uses(parsed.digest, dirName);
    const manifestFile = objectPath(stateDir, parsed.digest);
    const bytes = await readFile(manifestFile).catch(() => undefined);
    if (bytes === undefined || hashBytes(bytes) !== parsed.digest) {
      out.damaged.push({ kind: 'package', path: dir, problem: 'its manifest is not in the object cache (or is damaged there); it cannot be verified', expected: `${manifestFile} hashing to ${parsed.digest}`, actual: bytes === undefined ? 'missing' : hashBytes(bytes) });
      continue;
    }
    const { manifest } = decodeCachedManifest(bytes, parsed.digest);
    const listed = new Set<string>();
    for (const e of manifest.entries) {
      listed.add(e.path);
      if (e.type === 'file') {
        out.files += 1;
        uses(e.digest, dirName);
      }
      const damage = await checkEntry(join(dir, e.path), e);
      if (damage) out.damaged.push(damage);
    }
    for (const rel of await walk(dir)) if (!listed.has(rel)) out.damaged.push({ kind: 'package', path: join(dir, rel), problem: 'not in the manifest', expected: 'nothing', actual: 'an extra entry' });
  }
  return out;
}
