import { lstat, mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { nixDbFileUnder, nixStoreDirUnder, registeredRecordUnder } from './root-layout.js';
import { parseStorePath, storeBaseName } from './store-path.js';
import { writeNixFileAtomic } from './temp-names.js';

// Why a path this record lists may skip `nix-store --check-validity`: Nix drops a path from its database
// only by deleting it from the store too (`nix-store --delete`, its GC), or with the whole database. The
// record ties each path to the identity of the directory we saw valid (inode and change time: a path
// deleted and placed again is a new directory, so its entry no longer matches) and all of them to the
// identity of ROOT's db.sqlite (device, inode, birth time: a database removed and made anew no longer
// matches). A mismatch only costs the nix-store run the fetch made before this record existed.

interface Record {
  db: string;
  paths: { [storePath: string]: string };
}

async function dbIdentity(root: string): Promise<string | undefined> {
  const st = await stat(nixDbFileUnder(root), { bigint: true }).catch(() => undefined);
  return st === undefined ? undefined : `${st.dev}:${st.ino}:${st.birthtimeNs}`;
}

async function pathIdentity(root: string, storePath: string): Promise<string | undefined> {
  const st = await lstat(join(nixStoreDirUnder(root), storeBaseName(parseStorePath(storePath))), { bigint: true }).catch(() => undefined);
  return st === undefined ? undefined : `${st.ino}:${st.ctimeNs}`;
}

async function readRecord(root: string): Promise<Record | undefined> {
  try {
    const r = JSON.parse(await readFile(registeredRecordUnder(root), 'utf8')) as Partial<Record>;
    return typeof r.db === 'string' && typeof r.paths === 'object' && r.paths !== null ? { db: r.db, paths: r.paths } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Those of `paths` that recordRegistered saw valid in the Nix database of `root` and that are still the
 * same directories under the same database: valid to Nix without asking it. Never throws (an unreadable
 * record knows nothing).
 */
export async function knownRegistered(root: string, paths: readonly string[]): Promise<Set<string>> {
  const out = new Set<string>();
  const [record, db] = await Promise.all([readRecord(root), dbIdentity(root)]);
  if (record === undefined || db === undefined || record.db !== db) return out;
  await Promise.all(paths.map(async (p) => {
    const want = record.paths[p];
    if (want !== undefined && want === (await pathIdentity(root, p))) out.add(p);
  }));
  return out;
}

/**
 * Records `paths` (placed under `root` and just seen valid, or made valid, in its Nix database) for
 * knownRegistered, written atomically; entries whose directory changed since are dropped. Does nothing
 * when `root` has no Nix database. Throws the file system's errors.
 */
export async function recordRegistered(root: string, paths: readonly string[]): Promise<void> {
  const db = await dbIdentity(root);
  if (db === undefined) return;
  const old = await readRecord(root);
  const entries = new Map<string, string>();
  const kept = old?.db === db ? Object.entries(old.paths) : [];
  await Promise.all(kept.map(async ([p, id]) => {
    if (!paths.includes(p) && (await pathIdentity(root, p)) === id) entries.set(p, id);
  }));
  for (const p of paths) {
    const id = await pathIdentity(root, p);
    if (id !== undefined) entries.set(p, id);
  }
  const file = registeredRecordUnder(root);
  await mkdir(dirname(file), { recursive: true });
  const record: Record = { db, paths: Object.fromEntries([...entries].sort(([a], [b]) => (a < b ? -1 : 1))) };
  await writeNixFileAtomic(file, `${JSON.stringify(record, null, 1)}\n`);
}
