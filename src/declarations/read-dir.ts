import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { classifyPath } from './classify-path.js';
import type { DeclarationIssue } from './result.js';

const SKIP_DIRS = new Set(['.git', 'node_modules']);

/**
 * Reads a plain directory (a work tree, for editors and pre-commit hooks) into the repo-path → bytes map
 * loadDeclarations takes. Only declaration paths are read. A declaration that is a symlink is not followed
 * but reported (the agent refuses them in git trees too). Throws only when `dir` itself cannot be read.
 */
export async function readDeclarationDir(dir: string): Promise<{ files: Map<string, Uint8Array>; issues: DeclarationIssue[] }> {
  const files = new Map<string, Uint8Array>();
  const issues: DeclarationIssue[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(dir, rel), { withFileTypes: true });
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name) && (rel !== '' || e.name === 'sets' || e.name === 'machines')) await walk(path);
        continue;
      }
      if (classifyPath(path).kind === 'other') continue;
      const st = await lstat(join(dir, path));
      if (st.isSymbolicLink()) issues.push({ file: path, pointer: '', message: 'is a symlink: declarations must be regular files', rule: 'regular-file' });
      else if (st.isFile()) files.set(path, await readFile(join(dir, path)));
    }
  };
  await walk('');
  return { files, issues };
}
