import { readRawObject } from './objects.js';
import { parseTreeEntries } from './tree-entries.js';

async function setBlobs(gitdir: string, tree: string, cache: object): Promise<Map<string, string>> {
  const root = await readRawObject(gitdir, tree, cache);
  const sets = parseTreeEntries(root.bytes, '').find((e) => e.name === 'sets' && e.kind === 'tree');
  const out = new Map<string, string>();
  if (!sets) return out;
  const dir = await readRawObject(gitdir, sets.oid, cache);
  for (const e of parseTreeEntries(dir.bytes, 'sets')) {
    if (e.name.endsWith('.yaml') && e.kind !== 'tree') out.set(e.name.slice(0, -5), `${e.mode}:${e.oid}`);
  }
  return out;
}

/**
 * Names of the sets (`sets/NAME.yaml`) added, changed or removed between `parentTree` (null for a root
 * commit) and `tree`, sorted. Compares blob ids and modes, so it reads only two small tree objects.
 * Throws UnsafeTreeError for a malformed tree, NotFoundError/GitError when objects are missing.
 */
export async function listChangedSets(gitdir: string, tree: string, parentTree: string | null, cache: object = {}): Promise<string[]> {
  const now = await setBlobs(gitdir, tree, cache);
  const before = parentTree ? await setBlobs(gitdir, parentTree, cache) : new Map<string, string>();
  const names = new Set([...now.keys(), ...before.keys()]);
  return [...names].filter((n) => now.get(n) !== before.get(n)).sort();
}
