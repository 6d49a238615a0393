import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePublicKey, parseSecretKey, generateKeyPair, type PublicKey, type SecretKey } from '../../src/trust/publisher-key.js';

/** A fresh temp directory under os.tmpdir(); `cleanup` removes it (read-only package dirs included). */
export async function makeTempDir(prefix = 'flotilla-pkg-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return {
    dir,
    cleanup: async () => {
      const { removeTree } = await import('../../src/util/remove-tree.js');
      await removeTree(dir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A real ed25519 publisher key pair with the given name. */
export function makeKeyPair(name: string): { secret: SecretKey; public: PublicKey } {
  const k = generateKeyPair(name);
  return { secret: parseSecretKey(k.secret), public: parsePublicKey(k.public) };
}
