// removeTree takes away a tree whose directories are read-only (0555, as store paths and package trees
// are), which stops a plain rm for anyone but root: so it runs here as an unprivileged user (nobody), in a
// child process running the built module. Symlinks inside are removed, never followed.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const NOBODY = 65534;
const BUILT = resolve('dist/src/util/remove-tree.js');
let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'flotilla-remove-tree-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A store-path-like tree owned by nobody: read-only directories and files, and a symlink out of it. */
function readOnlyTree(outside: string): string {
  const top = join(tmp, 'parent', 'tree');
  mkdirSync(join(top, 'lib', 'deep'), { recursive: true });
  writeFileSync(join(top, 'lib', 'a'), 'a');
  writeFileSync(join(top, 'lib', 'deep', 'b'), 'b');
  symlinkSync(outside, join(top, 'lib', 'out'));
  for (const p of [join(tmp, 'parent'), top, join(top, 'lib'), join(top, 'lib', 'deep'), join(top, 'lib', 'a'), join(top, 'lib', 'deep', 'b')]) chownSync(p, NOBODY, NOBODY);
  for (const f of [join(top, 'lib', 'a'), join(top, 'lib', 'deep', 'b')]) chmodSync(f, 0o444);
  for (const d of [join(top, 'lib', 'deep'), join(top, 'lib'), top]) chmodSync(d, 0o555);
  chmodSync(tmp, 0o755);
  return top;
}

/** Runs `code` (an ES module body, with removeTree imported) as nobody; its exit status and stderr. */
function asNobody(code: string): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import { removeTree } from ${JSON.stringify(BUILT)};\n${code}`], { uid: NOBODY, gid: NOBODY, encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

describe('removeTree', () => {
  it('removes a tree of read-only directories as an unprivileged user, never following a symlink out of it', () => {
    if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run npm run build first (npm test does)`);
    const outside = join(tmp, 'outside');
    writeFileSync(outside, 'keep me');
    const top = readOnlyTree(outside);
    // Without the chmod of the directories, a plain rm fails for this user: the test's premise.
    expect(asNobody(`import { rm } from 'node:fs/promises'; await rm(${JSON.stringify(top)}, { recursive: true, force: true });`).status).not.toBe(0);
    const r = asNobody(`await removeTree(${JSON.stringify(top)});`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(existsSync(top)).toBe(false);
    expect(readFileSync(outside, 'utf8')).toBe('keep me');
  });

  it('is no error on a path that does not exist', () => {
    chmodSync(tmp, 0o755);
    const r = asNobody(`await removeTree(${JSON.stringify(join(tmp, 'nothing-here'))});`);
    expect(r.status).toBe(0);
  });
});
