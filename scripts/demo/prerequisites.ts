import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** True when an executable `name` is on PATH. */
export function findOnPath(name: string): boolean {
  return (process.env['PATH'] ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The tools the demo runs besides Node; returns a message naming the missing ones, or null. */
export function missingPrerequisites(): string | null {
  const missing = ['git', 'ssh-keygen', 'setsid'].filter((t) => !findOnPath(t));
  if (missing.length === 0) return null;
  return `the demo needs ${missing.join(', ')} on PATH (Debian: apt-get install git openssh-client util-linux)`;
}
