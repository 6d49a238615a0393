import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GitError } from '../errors/index.js';
import { resolveLocalGitdir } from './local-repo.js';

const OID = /^[0-9a-f]{40}$/;
/** Cap on packed-refs (a repo with very many tags): beyond it the caller falls back to a full tick. */
export const MAX_PACKED_REFS_BYTES = 8 * 1024 * 1024;

async function readOptional(file: string, maxBytes: number): Promise<string | undefined> {
  try {
    const bytes = await readFile(file);
    if (bytes.length > maxBytes) throw new GitError(`${file} is larger than ${maxBytes} bytes`, { file, limit: maxBytes });
    return bytes.toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/**
 * Reads `packed-refs` text (git's format: an optional `# pack-refs with:` header, `OID NAME` lines, and
 * `^OID` peel lines under tags) and returns the oid of `ref`, or undefined when it is not listed.
 * Throws GitError for a line of any other shape.
 */
export function findPackedRef(text: string, ref: string): string | undefined {
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('^')) {
      if (!OID.test(line.slice(1))) throw new GitError(`packed-refs line ${i + 1} is not a peel line`, { line: i + 1 });
      continue;
    }
    const space = line.indexOf(' ');
    const oid = line.slice(0, space);
    if (space < 0 || !OID.test(oid)) throw new GitError(`packed-refs line ${i + 1} is malformed`, { line: i + 1 });
    if (line.slice(space + 1) === ref) return oid;
  }
  return undefined;
}

/**
 * Where `branch` points in the local repo at `repoPath` (a bare repo or a work tree's .git, as
 * resolveLocalGitdir accepts): the loose ref refs/heads/BRANCH, else its packed-refs entry; null when the
 * branch exists in neither. Reads files only (no git, no object access). Throws GitError for a path that
 * is not a repo, a symbolic or malformed ref, or a malformed packed-refs; the caller treats any throw as
 * "unknown" and runs a full tick.
 */
export async function readLocalHead(repoPath: string, branch: string): Promise<string | null> {
  // git refuses these names too (check-ref-format); here they would also step outside refs/heads.
  if (branch.split('/').some((part) => part === '' || part.startsWith('.') || part.endsWith('.lock'))) {
    throw new GitError(`branch name ${JSON.stringify(branch)} is not a valid ref name`, { branch });
  }
  const gitdir = await resolveLocalGitdir(repoPath);
  const ref = `refs/heads/${branch}`;
  const loose = await readOptional(join(gitdir, ref), 4096);
  if (loose !== undefined) {
    const oid = loose.trim();
    if (!OID.test(oid)) throw new GitError(`${ref} in ${gitdir} is not a plain object id (a symbolic ref?)`, { gitdir, ref });
    return oid;
  }
  const packed = await readOptional(join(gitdir, 'packed-refs'), MAX_PACKED_REFS_BYTES);
  return packed === undefined ? null : (findPackedRef(packed, ref) ?? null);
}
