import { createHash } from 'node:crypto';
import { lstat, mkdir, readFile, readdir, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A small seeded PRNG (mulberry32): the same seed gives the same tree on every machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface TreeSpec {
  seed: number;
  files: number;
  /** Total bytes to aim for; sizes are log-uniform between minSize and maxSize, then scaled. */
  minSize: number;
  maxSize: number;
  dirs?: number;
  symlinks?: number;
  executableRatio?: number;
  /** Include names with non-ASCII characters. */
  unicode?: boolean;
  /** Extra explicit sizes (e.g. 0 and 8 MiB) always included. */
  fixedSizes?: number[];
}

const NAMES = ['lib', 'bin', 'share', 'etc', 'include', 'data', 'conf', 'mod', 'pkg', 'res'];
const UNICODE = ['café', 'naïve', '日本語', 'Ωmega', 'emoji-🚀', 'straße'];

function fill(rand: () => number, size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  let x = Math.floor(rand() * 0xffffffff) >>> 0;
  for (let i = 0; i + 4 <= size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeUInt32LE(x >>> 0, i);
  }
  for (let i = size - (size % 4); i < size; i++) b[i] = i & 0xff;
  return b;
}

/**
 * Writes a seeded tree into `root` (which must exist): nested directories, files of log-uniform sizes,
 * executables, relative symlinks (to files and to directories, some chained) and optional Unicode names.
 * Returns the relative file paths written.
 */
export async function generateTree(root: string, spec: TreeSpec): Promise<string[]> {
  const rand = seededRandom(spec.seed);
  const dirs: string[] = [''];
  const ndirs = spec.dirs ?? Math.max(1, Math.ceil(spec.files / 12));
  for (let i = 0; i < ndirs; i++) {
    const parent = dirs[Math.floor(rand() * dirs.length)] ?? '';
    const pool = spec.unicode && rand() < 0.2 ? UNICODE : NAMES;
    const name = `${pool[Math.floor(rand() * pool.length)] ?? 'd'}${i}`;
    const d = parent === '' ? name : `${parent}/${name}`;
    await mkdir(join(root, d), { recursive: true });
    dirs.push(d);
  }
  const files: string[] = [];
  const sizes = [...(spec.fixedSizes ?? [])];
  while (sizes.length < spec.files) {
    const lo = Math.log(Math.max(1, spec.minSize));
    const hi = Math.log(spec.maxSize);
    sizes.push(Math.floor(Math.exp(lo + rand() * (hi - lo))));
  }
  for (const [i, size] of sizes.entries()) {
    const dir = dirs[Math.floor(rand() * dirs.length)] ?? '';
    const pool = spec.unicode && rand() < 0.15 ? UNICODE : ['file', 'data', 'index', 'main', 'util'];
    const name = `${pool[Math.floor(rand() * pool.length)] ?? 'f'}-${i}.bin`;
    const rel = dir === '' ? name : `${dir}/${name}`;
    const exec = rand() < (spec.executableRatio ?? 0.05);
    await writeFile(join(root, rel), fill(rand, size), { mode: exec ? 0o755 : 0o644 });
    files.push(rel);
  }
  for (let i = 0; i < (spec.symlinks ?? 0); i++) {
    const dir = dirs[Math.floor(rand() * dirs.length)] ?? '';
    const toDir = rand() < 0.3;
    const target = toDir ? (dirs[Math.floor(rand() * dirs.length)] ?? '') : (files[Math.floor(rand() * files.length)] ?? '');
    const up = dir === '' ? [] : dir.split('/').map(() => '..');
    const rel = [...up, ...(target === '' ? ['.'] : [target])].join('/');
    const at = dir === '' ? `link-${i}` : `${dir}/link-${i}`;
    await symlink(rel, join(root, at));
  }
  return files;
}

/** One entry of a tree as seen on disk, for comparisons: type, permission bits, size and sha256, or link target. */
export interface SeenEntry {
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  size?: number;
  sha256?: string;
  target?: string;
}

/** Reads a tree into a map path → SeenEntry (lstat; links not followed). */
export async function describeTree(root: string, rel = '', out = new Map<string, SeenEntry>()): Promise<Map<string, SeenEntry>> {
  for (const n of (await readdir(rel === '' ? root : join(root, rel))).sort()) {
    const r = rel === '' ? n : `${rel}/${n}`;
    const abs = join(root, r);
    const st = await lstat(abs);
    const mode = st.mode & 0o7777;
    if (st.isSymbolicLink()) out.set(r, { type: 'symlink', mode: 0, target: await readlink(abs) });
    else if (st.isDirectory()) {
      out.set(r, { type: 'dir', mode });
      await describeTree(root, r, out);
    } else out.set(r, { type: 'file', mode, size: st.size, sha256: createHash('sha256').update(await readFile(abs)).digest('hex') });
  }
  return out;
}
