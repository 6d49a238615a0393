import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { digestFromHex, type Digest } from '../../src/store/digest.js';
import { packageDirName, storeDir, type StagePackage } from '../../src/generations/index.js';

/** A fresh state dir under os.tmpdir(); `cleanup` removes it. */
export async function makeStateDir(): Promise<{ stateDir: string; cleanup: () => Promise<void> }> {
  const stateDir = await mkdtemp(join(tmpdir(), 'flotilla-gen-'));
  return { stateDir, cleanup: () => rm(stateDir, { recursive: true, force: true }) };
}

/** A digest derived from a label (stands in for a real manifest or closure digest). */
export function digestOf(label: string): Digest {
  return digestFromHex(createHash('sha256').update(label).digest('hex'));
}

/**
 * Materialises a package the way fetch does: STATE/store/<hex>-<name>/file holding `content`, read-only.
 */
export async function materialise(stateDir: string, name: string, content: string): Promise<StagePackage> {
  const digest = digestOf(`${name}:${content}`);
  const path = join(storeDir(stateDir), packageDirName(digest, name));
  if (!existsSync(path)) {
    await mkdir(path, { recursive: true });
    await writeFile(join(path, 'file'), content);
    await chmod(join(path, 'file'), 0o444);
    await chmod(path, 0o555);
  }
  return { digest, name, path };
}

/** A closure of two packages (app, lib) whose files both hold `version`; its digest derives from it. */
export async function closure(stateDir: string, version: string): Promise<{ digest: Digest; packages: StagePackage[] }> {
  const packages = [await materialise(stateDir, 'app', version), await materialise(stateDir, 'lib', version)];
  return { digest: digestOf(`closure:${version}`), packages };
}

/** The compiled child script's entry; the crash, reader and lock tests run real node processes. */
export const CHILD = resolve('test/generations/fixtures/child.mjs');

/** Fails with a clear message when the build the child processes import is missing or older than src. */
export function requireBuild(): void {
  for (const name of readdirSync(resolve('src/generations')).filter((n) => n.endsWith('.ts'))) {
    const built = resolve('dist/src/generations', name.replace(/\.ts$/, '.js'));
    if (!existsSync(built) || statSync(built).mtimeMs < statSync(resolve('src/generations', name)).mtimeMs) {
      throw new Error(`${built} is missing or older than its source: run \`npx tsc -p tsconfig.build.json\` first`);
    }
  }
}
