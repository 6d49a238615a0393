import { classifyPath } from '../declarations/classify-path.js';
import { loadDeclarations, type DeclarationIssue } from '../declarations/index.js';
import type { Declarations } from '../declarations/types.js';
import { hasCode, type UnsafeTreeError } from '../errors/index.js';
import { readTreeFiles } from '../git/read-tree.js';

/** Declaration files and what they declare, as data: `decls` is null exactly when `issues` is not empty. */
export interface DeclarationsRead {
  /** The declaration files read (repo path → bytes); empty when the tree was refused. */
  files: Map<string, Uint8Array>;
  decls: Declarations | null;
  /** Every problem, as file:line:col + JSON pointer (a refused tree is one issue, rule `unsafe-tree`). */
  issues: DeclarationIssue[];
  /** Why the tree was refused unread (symlinked declaration, submodule, `..`): the caller may rethrow it. */
  refused?: UnsafeTreeError;
}

/** The declarations of one commit. */
export interface DeclarationsAt extends DeclarationsRead {
  oid: string;
}

/** Loads declaration files already in hand (e.g. after an edit); never throws for bad content. */
export function loadDeclarationFiles(files: Map<string, Uint8Array>): DeclarationsRead {
  const loaded = loadDeclarations(files);
  return loaded.ok ? { files, decls: loaded.value, issues: [] } : { files, decls: null, issues: loaded.errors };
}

/**
 * Reads the declaration files of commit `oid` as git objects (never a checkout) and loads them: YAML, schemas
 * and rules, errors as data. A tree the reader refuses (UnsafeTreeError) becomes one issue and is not loaded,
 * since "flotilla.yaml is missing" would mislead. Throws only when the repo cannot be read: NotFoundError,
 * GitError, SizeLimitError.
 */
export async function readDeclarationsAt(gitdir: string, oid: string): Promise<DeclarationsAt> {
  try {
    const files = await readTreeFiles({ gitdir, oid, include: (p) => classifyPath(p).kind !== 'other' });
    return { oid, ...loadDeclarationFiles(files) };
  } catch (err) {
    if (!hasCode(err, 'UnsafeTreeError')) throw err;
    const refused = err as UnsafeTreeError;
    const file = typeof refused.data['path'] === 'string' ? refused.data['path'] : '(tree)';
    return { oid, files: new Map(), decls: null, issues: [{ file, pointer: '', message: refused.message, rule: 'unsafe-tree' }], refused };
  }
}
