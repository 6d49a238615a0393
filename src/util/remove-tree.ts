import { chmod, lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Removes a tree whose directories may be read-only (0555 stops a non-root rm), as store paths are.
 * Symlinks inside are removed themselves, never followed (rm and lstat do not follow them), wherever they
 * point. A missing `path` is no error; throws the file system's other errors.
 */
export async function removeTree(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch {
    await chmodTree(path);
    await rm(path, { recursive: true, force: true });
  }
}

async function chmodTree(path: string): Promise<void> {
  const st = await lstat(path);
  if (!st.isDirectory()) return;
  await chmod(path, 0o700);
  for (const name of await readdir(path)) await chmodTree(join(path, name));
}
