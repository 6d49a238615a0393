import { UnsafeTreeError } from '../errors/index.js';

/** One entry of a tree object, with git's raw mode string (`100644`, `40000`, `120000`, `160000`). */
export interface TreeEntry {
  mode: string;
  name: string;
  oid: string;
  kind: 'file' | 'executable' | 'tree' | 'symlink' | 'submodule';
}

const KINDS: Record<string, TreeEntry['kind']> = {
  '100644': 'file',
  '100664': 'file',
  '100755': 'executable',
  '40000': 'tree',
  '040000': 'tree',
  '120000': 'symlink',
  '160000': 'submodule',
};

const IGNORABLE = /[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]/g;

/**
 * True for a name git would never write into a tree and we must never follow: empty, `.`, `..`, any case
 * of `.git` (also with trailing dots/spaces, which Windows drops, HFS+-ignorable code points, and NTFS's
 * `git~1`), or a name
 * holding `/`, `\` or NUL.
 */
export function isUnsafeEntryName(name: string): boolean {
  if (name === '' || name === '.' || name === '..') return true;
  if (/[/\\\0]/.test(name)) return true;
  // HFS+ ignores these code points when comparing names, so `.g\u200cit` is `.git` there (git's fsck agrees).
  const folded = name.replace(IGNORABLE, '').toLowerCase().replace(/[. ]+$/, '');
  return folded === '.git' || folded === 'git~1';
}

/**
 * Parses a raw tree object. Refuses (UnsafeTreeError, naming `where` and the entry) unknown modes, unsafe
 * names, malformed bytes and duplicate names, so callers never see an entry git itself would reject.
 */
export function parseTreeEntries(bytes: Uint8Array, where: string): TreeEntry[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entries: TreeEntry[] = [];
  const seen = new Set<string>();
  let i = 0;
  while (i < buf.length) {
    const space = buf.indexOf(0x20, i);
    const nul = space === -1 ? -1 : buf.indexOf(0, space + 1);
    if (space === -1 || nul === -1 || nul + 21 > buf.length) {
      throw new UnsafeTreeError(`malformed tree object at ${where || '/'}`, { path: where });
    }
    const mode = buf.toString('latin1', i, space);
    const name = buf.toString('utf8', space + 1, nul);
    const oid = buf.toString('hex', nul + 1, nul + 21);
    i = nul + 21;
    const path = where ? `${where}/${name}` : name;
    const kind = KINDS[mode];
    if (kind === undefined) throw new UnsafeTreeError(`tree entry ${JSON.stringify(path)} has unknown mode ${mode}`, { path, mode });
    if (isUnsafeEntryName(name)) throw new UnsafeTreeError(`tree entry ${JSON.stringify(path)} has a forbidden name`, { path, reason: 'name' });
    if (seen.has(name)) throw new UnsafeTreeError(`tree entry ${JSON.stringify(path)} appears twice`, { path, reason: 'duplicate' });
    seen.add(name);
    entries.push({ mode, name, oid, kind });
  }
  return entries;
}
