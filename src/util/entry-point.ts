import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * True when the module at `moduleUrl` (its import.meta.url) is the script node was started with. npm's
 * bin links are symlinks, so real paths are compared. Importing such a module (tests, docs) runs nothing.
 */
export function isEntryPoint(moduleUrl: string): boolean {
  const invoked = process.argv[1];
  if (invoked === undefined) return false;
  try {
    return realpathSync(invoked) === fileURLToPath(moduleUrl);
  } catch {
    return false;
  }
}
