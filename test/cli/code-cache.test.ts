// The CLI's bundle is compiled from V8's code cache made at build time (src/cli/code-cache.ts,
// scripts/bundle-cli.mjs): the cache must be taken only for the very file it was made from, and the one the
// build ships must be one V8 accepts under the flags of the bin's shebang.
import { execFile } from 'node:child_process';
import { copyFile, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCodeCache, makeExercisedCodeCache, requireWithCodeCache } from '../../src/cli/code-cache.js';
import { makeTempDir } from '../helpers/package-fixtures.js';

const moduleText = (value: string): string => `exports.value = () => ${JSON.stringify(value)};\nexports.dir = __dirname;\n`;

describe('requireWithCodeCache', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    t = await makeTempDir('flotilla-code-cache-');
  });
  afterAll(async () => t?.cleanup());

  it('loads a CommonJS file as require would, from the cache made for it', async () => {
    const file = join(t.dir, 'a.js');
    await writeFile(file, moduleText('one'));
    expect(requireWithCodeCache(file, join(t.dir, 'none.cache'))).toMatchObject({ cached: false });
    makeCodeCache(file, join(t.dir, 'a.cache'));
    const r = requireWithCodeCache(file, join(t.dir, 'a.cache'));
    expect(r.cached).toBe(true);
    expect((r.exports as { value: () => string }).value()).toBe('one');
    expect((r.exports as { dir: string }).dir).toBe(t.dir);
  });

  it('ignores a cache whose file was changed since, even to the same length (V8 checks only that)', async () => {
    const file = join(t.dir, 'b.js');
    await writeFile(file, moduleText('two'));
    makeCodeCache(file, join(t.dir, 'b.cache'));
    await writeFile(file, moduleText('owt'));
    // An edit within the same millisecond as the build would keep the mtime: make it plainly later.
    const later = new Date((await stat(file)).mtimeMs + 5000);
    await utimes(file, later, later);
    const r = requireWithCodeCache(file, join(t.dir, 'b.cache'));
    expect(r.cached).toBe(false);
    expect((r.exports as { value: () => string }).value()).toBe('owt');
  });
});

describe('makeExercisedCodeCache', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    t = await makeTempDir('flotilla-code-cache-');
  });
  afterAll(async () => t?.cleanup());

  it('takes the cache after the exercise ran, so it holds the functions that ran too, and is accepted', async () => {
    const file = join(t.dir, 'c.js');
    const body = Array.from({ length: 200 }, (_, i) => `  total += ${i} * n;`).join('\n');
    await writeFile(file, `exports.work = (n) => {\n  let total = 0;\n${body}\n  return total;\n};\n`);
    makeCodeCache(file, join(t.dir, 'plain.cache'));
    let ran = 0;
    await makeExercisedCodeCache(file, join(t.dir, 'c.cache'), (exports) => {
      ran = (exports as { work: (n: number) => number }).work(1);
      return Promise.resolve();
    });
    expect(ran).toBe(19900);
    expect((await stat(join(t.dir, 'c.cache'))).size).toBeGreaterThan((await stat(join(t.dir, 'plain.cache'))).size);
    const r = requireWithCodeCache(file, join(t.dir, 'c.cache'));
    expect(r.cached).toBe(true);
    expect((r.exports as { work: (n: number) => number }).work(2)).toBe(39800);
  });

  it('writes no cache when the exercise fails', async () => {
    const file = join(t.dir, 'd.js');
    await writeFile(file, moduleText('four'));
    await expect(makeExercisedCodeCache(file, join(t.dir, 'd.cache'), () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    await expect(stat(join(t.dir, 'd.cache'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('the code cache the build ships', () => {
  it('is accepted by V8 under the bin\'s shebang, which carries no flag, and rejected under another flag', async () => {
    const bin = resolve('dist/bin');
    const shebang = (await readFile(join(bin, 'flotilla.js'), 'utf8')).split('\n')[0] ?? '';
    expect(shebang).toBe('#!/usr/bin/env node');
    const flags: string[] = [];
    // The whole CLI's bundle, the ones `flotilla fetch` and `flotilla agent` load, and the tick worker's
    // body, which its entry compiles before it sets its V8 flags (scripts/bundle-cli.mjs).
    for (const name of ['flotilla-cli', 'flotilla-fetch', 'flotilla-agent', 'tick-worker-body']) {
      const probe = `import(${JSON.stringify(resolve('dist/src/cli/code-cache.js'))}).then((m) => process.stdout.write(String(m.requireWithCodeCache(${JSON.stringify(join(bin, `${name}.js`))}, ${JSON.stringify(join(bin, `${name}.cache`))}).cached)))`;
      const cached = (args: string[]): Promise<string> =>
        new Promise((done, fail) => execFile(process.execPath, [...args, '-e', probe], (err, stdout) => (err ? fail(new Error(err.message)) : done(stdout))));
      expect(await cached(flags), name).toBe('true');
      expect(await cached(['--max-semi-space-size=2']), name).toBe('false');
    }
  });
});

describe('the bundle of `flotilla fetch`', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    t = await makeTempDir('flotilla-fetch-bundle-');
  });
  afterAll(async () => t?.cleanup());

  it('runs `fetch` without the whole CLI, holds no other verb, and is not loaded for another verb', async () => {
    for (const f of ['flotilla.js', 'flotilla-fetch.js', 'flotilla-fetch.cache', 'package.json']) await copyFile(join('dist/bin', f), join(t.dir, f));
    const node = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
      new Promise((done) => execFile(process.execPath, [join(t.dir, 'flotilla.js'), ...args], (err, stdout, stderr) => done({ code: err ? Number(err.code) : 0, stdout, stderr })));
    // The CLI's own check of the argument, with its exit code: the fetch bundle ran main.
    const bad = await node(['fetch', 'sha256:nothex', '--json']);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, kind: 'fetch', error: { code: 'UsageError' } });
    const other = await node(['version']);
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain('flotilla-cli.js');
    const text = await readFile(join(t.dir, 'flotilla-fetch.js'), 'utf8');
    expect(text).toContain('dist/src/cli/verb-fetch.js');
    expect(text).not.toContain('dist/src/cli/verb-push.js');
    expect(text).not.toContain('dist/src/cli/verb-agent.js');
  });
});
