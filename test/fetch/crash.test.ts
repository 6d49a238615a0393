import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushDirectory } from '../../src/publish/push-directory.js';
import { openStore } from '../../src/store/open-store.js';
import { formatPublicKey } from '../../src/trust/publisher-key.js';
import { makeKeyPair, makeTempDir } from '../helpers/package-fixtures.js';
import { describeTree, generateTree } from '../helpers/tree-gen.js';
import { CLI } from '../helpers/cli-bin.js';

const ROUNDS = process.env.FLOTILLA_SLOW === '1' ? 40 : 6;

/** Runs `flotilla fetch` and kills it with SIGKILL after `ms` (or lets it finish if it is faster). */
function fetchAndKill(args: string[], ms: number): Promise<void> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, 'fetch', ...args], { stdio: 'ignore', env: { ...process.env, FLOTILLA_LOG_LEVEL: 'silent' } });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', () => {
      clearTimeout(timer);
      done();
    });
  });
}

async function checkCache(state: string): Promise<void> {
  const root = join(state, 'objects', 'sha256');
  for (const sub of await readdir(root).catch(() => [])) {
    for (const name of await readdir(join(root, sub))) {
      const hex = name.replace(/\.x$/, '');
      expect(createHash('sha256').update(await readFile(join(root, sub, name))).digest('hex')).toBe(hex);
    }
  }
}

describe('kill -9 during fetch never leaves an incomplete package or a bad cache object', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let src: string;
  let digest: string;
  const key = makeKeyPair('crash-1');
  beforeAll(async () => {
    t = await makeTempDir();
    src = join(t.dir, 'src');
    await mkdir(src);
    await generateTree(src, { seed: 17, files: 300, minSize: 100, maxSize: 400_000, symlinks: 10, executableRatio: 0.1 });
    digest = (await pushDirectory(openStore(join(t.dir, 'store')), src, { name: 'app', signKeys: [key.secret] })).digest;
  });
  afterAll(async () => t.cleanup());

  it(`survives ${ROUNDS} kills at spread-out moments, then a clean fetch completes`, async () => {
    const want = await describeTree(src);
    const args = (state: string): string[] => [digest, '--store', join(t.dir, 'store'), '--trust', formatPublicKey(key.public), '--state', state];
    for (let i = 0; i < ROUNDS; i++) {
      const state = join(t.dir, `state-${i}`);
      // Kill points from process start-up to past the end of a typical fetch; a second kill lands on a warm cache.
      await fetchAndKill(args(state), 150 + i * 120);
      await fetchAndKill(args(state), 100 + i * 60);
      for (const name of await readdir(join(state, 'store')).catch(() => [])) {
        if (name.startsWith('.partial-')) continue;
        expect(name).toBe(`${digest.slice(7)}-app`);
        const got = await describeTree(join(state, 'store', name));
        expect([...got.keys()]).toEqual([...want.keys()]);
      }
      await checkCache(state);
      await fetchAndKill(args(state), 120_000);
      const names = await readdir(join(state, 'store'));
      expect(names).toEqual([`${digest.slice(7)}-app`]);
      expect(await readdir(join(state, 'objects', 'tmp'))).toEqual([]);
      const got = await describeTree(join(state, 'store', names[0] ?? ''));
      for (const [p, w] of want) expect(got.get(p)?.sha256).toBe(w.sha256);
    }
  });
});
