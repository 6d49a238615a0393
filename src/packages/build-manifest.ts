import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ManifestError, UnsafePathError } from '../errors/index.js';
import { escapeNameBytes, findNonUtf8Name } from './name-bytes.js';
import type { Digest } from '../store/digest.js';
import { hashFile } from './hash-file.js';
import { resolveLimits, type ManifestLimits } from './limits.js';
import { encodeManifest } from './manifest-codec.js';
import { MANIFEST_FORMAT, type Entry, type LoadedManifest } from './manifest-types.js';
import { runPool } from '../util/run-pool.js';

/** A file of the built manifest that is stored as its own object (not inlined): where to read it. */
export interface BuiltObject {
  digest: Digest;
  size: number;
  source: string;
}

/** What `buildManifest` returns: the encoded manifest and the distinct objects to upload. */
export interface BuiltPackage extends LoadedManifest {
  objects: BuiltObject[];
}

export interface BuildOptions {
  name: string;
  references?: Digest[];
  provenance?: Record<string, string>;
  limits?: Partial<ManifestLimits>;
  concurrency?: number;
}

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;

interface Found {
  rel: string;
  abs: string;
  kind: 'file' | 'dir' | 'symlink';
  size: number;
  executable: boolean;
}

/** Throws UnsafePathError naming the bytes (hex-escaped) when an entry of `dir` has a non-UTF-8 name. */
async function refuseNonUtf8(dir: string, rel: string): Promise<void> {
  const bad = await findNonUtf8Name(dir);
  if (bad === undefined) return;
  const shown = `${rel === '' ? '' : `${rel}/`}${escapeNameBytes(bad)}`;
  throw new UnsafePathError(`${join(dir, escapeNameBytes(bad))}: file name is not valid UTF-8`, { path: shown, bytes: bad.toString('hex') });
}

async function walk(root: string, rel: string, out: Found[], limits: ManifestLimits): Promise<void> {
  const dir = rel === '' ? root : join(root, rel);
  const names = await readdir(dir);
  if (names.some((n) => n.includes('\uFFFD'))) await refuseNonUtf8(dir, rel);
  for (const n of names) {
    const r = rel === '' ? n : `${rel}/${n}`;
    const abs = join(root, r);
    const st = await lstat(abs);
    const unsafe = (why: string): never => {
      throw new UnsafePathError(`${abs}: ${why}`, { path: r });
    };
    if ((st.mode & (S_ISUID | S_ISGID)) !== 0 && !st.isDirectory()) unsafe('setuid/setgid bit');
    if (st.isSymbolicLink()) out.push({ rel: r, abs, kind: 'symlink', size: 0, executable: false });
    else if (st.isDirectory()) {
      out.push({ rel: r, abs, kind: 'dir', size: 0, executable: false });
      if (out.length > limits.maxEntries) unsafe(`more than ${limits.maxEntries} entries`);
      await walk(root, r, out, limits);
    } else if (st.isFile()) {
      if (st.nlink > 1) unsafe(`hardlink (${st.nlink} links); packages hold no hardlinks`);
      out.push({ rel: r, abs, kind: 'file', size: st.size, executable: (st.mode & 0o111) !== 0 });
    } else unsafe('device file, FIFO or socket');
    if (out.length > limits.maxEntries) unsafe(`more than ${limits.maxEntries} entries`);
  }
}

/**
 * Walks `dir` (lstat, never following links), hashes every file and encodes the manifest. Files of at most
 * `limits.inlineMaxBytes` are inlined. Refuses devices, FIFOs, sockets, hardlinked files, setuid/setgid
 * files, absolute or escaping symlinks and every path rule with UnsafePathError naming the path.
 */
export async function buildManifest(dir: string, options: BuildOptions): Promise<BuiltPackage> {
  const limits = resolveLimits(options.limits);
  const found: Found[] = [];
  await walk(dir, '', found, limits);
  const entries = await runPool(found, options.concurrency ?? 8, async (f): Promise<Entry> => {
    if (f.kind === 'dir') return { type: 'dir', path: f.rel };
    if (f.kind === 'symlink') return { type: 'symlink', path: f.rel, target: await readlink(f.abs) };
    const h = await hashFile(f.abs, f.size, limits.inlineMaxBytes);
    const e: Entry = { type: 'file', path: f.rel, size: h.size, digest: h.digest, executable: f.executable };
    if (h.bytes !== undefined) e.data = h.bytes.toString('base64');
    return e;
  });
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const references = [...new Set(options.references ?? [])].sort();
  let loaded: LoadedManifest;
  try {
    loaded = encodeManifest({ format: MANIFEST_FORMAT, name: options.name, entries, references, provenance: options.provenance ?? {} }, limits);
  } catch (err) {
    if (err instanceof ManifestError) throw new UnsafePathError(`${dir}: ${err.message}`, err.data, { cause: err });
    throw err;
  }
  const objects = new Map<Digest, BuiltObject>();
  for (const e of entries) {
    if (e.type === 'file' && e.data === undefined && !objects.has(e.digest)) objects.set(e.digest, { digest: e.digest, size: e.size, source: join(dir, e.path) });
  }
  return { ...loaded, objects: [...objects.values()] };
}
