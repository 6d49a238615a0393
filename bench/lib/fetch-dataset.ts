import { cp, lstat, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pushDirectory } from '../../src/publish/push-directory.js';
import type { Digest } from '../../src/store/digest.js';
import { openStore } from '../../src/store/open-store.js';
import { generateKeyPair, parseSecretKey } from '../../src/trust/publisher-key.js';
import { generateTree, seededRandom } from '../../test/helpers/tree-gen.js';

/** The shape: runtime ~1,450 files / ~120 MB, libs ~480 / ~27 MB, app ~200 / ~10 MB; 100 B to 8 MB. */
export const PACKAGES = [
  { name: 'runtime', seed: 101, files: 1450, maxSize: 600_000, fixedSizes: [8_000_000, 6_000_000, 4_000_000], symlinks: 30 },
  { name: 'libs', seed: 202, files: 480, maxSize: 350_000, fixedSizes: [4_000_000, 2_000_000], symlinks: 10 },
  { name: 'app', seed: 303, files: 200, maxSize: 270_000, fixedSizes: [3_000_000], symlinks: 4 },
] as const;

/** The two versions of the closure on disk: ROOT/v1/{runtime,libs,app} and ROOT/v2/…, v2 with ~20 files changed. */
export interface Trees {
  v1Tree: string;
  v2Tree: string;
  bytes: number;
  files: number;
  changedFiles: number;
  changedBytes: number;
}

/** Every regular file under `dir`. */
export async function listFiles(dir: string, out: string[] = []): Promise<string[]> {
  for (const d of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isDirectory()) await listFiles(p, out);
    else if (d.isFile()) out.push(p);
  }
  return out;
}

/** Generates v1 (seeded, the same on every machine) and v2: 12 files of app and 8 of libs rewritten, same sizes. */
export async function buildTrees(root: string): Promise<Trees> {
  const v1Tree = join(root, 'v1');
  const v2Tree = join(root, 'v2');
  for (const p of PACKAGES) {
    await mkdir(join(v1Tree, p.name), { recursive: true });
    await generateTree(join(v1Tree, p.name), { seed: p.seed, files: p.files, minSize: 100, maxSize: p.maxSize, fixedSizes: [...p.fixedSizes], symlinks: p.symlinks, executableRatio: 0.05 });
  }
  await cp(v1Tree, v2Tree, { recursive: true, verbatimSymlinks: true });
  const rand = seededRandom(909);
  let changedBytes = 0;
  const changed = new Set<string>();
  for (const [pkg, n] of [['app', 12], ['libs', 8]] as const) {
    const all = (await listFiles(join(v2Tree, pkg))).sort();
    for (let i = 0; i < n; i++) {
      const f = all[Math.floor(rand() * all.length)] ?? '';
      const size = (await lstat(f)).size;
      const buf = Buffer.alloc(size);
      for (let j = 0; j + 4 <= size; j += 4096) buf.writeUInt32LE(Math.floor(rand() * 0xffffffff), j);
      await writeFile(f, buf);
      if (!changed.has(f)) changedBytes += size;
      changed.add(f);
    }
  }
  let bytes = 0;
  let files = 0;
  for (const f of await listFiles(v1Tree)) {
    files++;
    bytes += (await lstat(f)).size;
  }
  return { v1Tree, v2Tree, bytes, files, changedFiles: changed.size, changedBytes };
}

/** The closures as pushed: v1 and v2 app digests, and the publisher key that signed them. */
export interface Pushed {
  v1: Digest;
  v2: Digest;
  /** NAME:base64 public key, for `flotilla fetch --trust`. */
  pubKey: string;
}

/** Pushes v1 and v2 to every store URL (app references libs references runtime), signed with one new key. */
export async function pushTrees(trees: Trees, storeUrls: string[]): Promise<Pushed> {
  const key = generateKeyPair('bench-1');
  const secret = parseSecretKey(key.secret);
  const digests: Digest[] = [];
  for (const url of storeUrls) {
    const store = openStore(url);
    try {
      for (const tree of [trees.v1Tree, trees.v2Tree]) {
        const runtime = await pushDirectory(store, join(tree, 'runtime'), { name: 'runtime', signKeys: [secret] });
        const libs = await pushDirectory(store, join(tree, 'libs'), { name: 'libs', references: [runtime.digest], signKeys: [secret] });
        const app = await pushDirectory(store, join(tree, 'app'), { name: 'app', references: [libs.digest], signKeys: [secret] });
        digests.push(app.digest);
      }
    } finally {
      await store.close();
    }
  }
  return { v1: digests[0] as Digest, v2: digests[1] as Digest, pubKey: key.public };
}
