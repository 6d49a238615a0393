// The bundle package.json's `bin` runs (dist/bin/, scripts/bundle-cli.mjs), run the way npm installs it:
// copied alone (no dist/src beside it) next to package.json, schemas/ and node_modules, executed through
// its shebang (the bin is the launcher, src/cli/flotilla-launcher.sh, which execs Node on flotilla.js). Every verb is loaded lazily inside the bundle, so a few verbs from different corners are run
// for real.
import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../helpers/package-fixtures.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('the bin bundle, installed alone and run through its shebang', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let bin: string;

  /** Executes the installed bin itself (not `node FILE`), so the kernel reads the shebang. */
  const flotilla = (args: string[], cwd = t.dir): Promise<Run> =>
    new Promise((done) => {
      execFile(bin, args, { cwd, env: { ...process.env, FLOTILLA_LOG_LEVEL: 'warn' }, timeout: 60_000 }, (err, stdout, stderr) => {
        done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
      });
    });

  beforeAll(async () => {
    t = await makeTempDir('flotilla-bin-');
    const install = join(t.dir, 'install');
    await mkdir(install);
    await cp(resolve('dist/bin'), join(install, 'dist', 'bin'), { recursive: true });
    await cp(resolve('package.json'), join(install, 'package.json'));
    await cp(resolve('schemas'), join(install, 'schemas'), { recursive: true });
    await symlink(resolve('node_modules'), join(install, 'node_modules'));
    bin = join(install, (JSON.parse(await readFile('package.json', 'utf8')) as { bin: { flotilla: string } }).bin.flotilla);
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it('holds no import of a file outside dist/bin (the bundle is whole without dist/src)', async () => {
    const dir = resolve('dist/bin');
    const names = await readdir(dir);
    // CommonJS throughout (scripts/bundle-cli.mjs): no ES module loader on any path.
    expect(JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'))).toEqual({ type: 'commonjs' });
    for (const name of names.filter((n) => n.endsWith('.js'))) {
      const text = await readFile(join(dir, name), 'utf8');
      // (?<!\{): not a JSDoc type such as {import('./get')}, which the bundled packages' comments hold.
      const relative = [...text.matchAll(/(?<!\{)(?:from|import|require)\s*\(?\s*["'](\.[^"']*)["']/g)].map((m) => m[1] as string);
      expect(relative.filter((spec) => !/^\.\/[^/]+\.js$/.test(spec) || !names.includes(spec.slice(2))), name).toEqual([]);
    }
  });

  it('--help lists every verb; version and --version print package.json\'s version', async () => {
    const help = await flotilla(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('fetch');
    expect(help.stdout).toContain('agent reconcile');
    const { version } = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    expect((await flotilla(['version'])).stdout.trim()).toBe(version);
    expect((await flotilla(['push', '--version'])).stdout.trim()).toBe(version);
  });

  it('runs through a symlink, as npm links a bin (node_modules/.bin/flotilla, /usr/bin/flotilla)', async () => {
    const link = join(t.dir, 'flotilla');
    await symlink(bin, link);
    const r = await new Promise<Run>((done) => execFile(link, ['version'], (err, stdout, stderr) => done({ code: err === null ? 0 : null, stdout, stderr })));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('loads a verb\'s chunk for its --help, and the help verb reads another verb\'s', async () => {
    const r = await flotilla(['fetch', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: flotilla fetch /);
    expect((await flotilla(['help', 'gc'])).stdout).toMatch(/^usage: flotilla gc /);
    expect((await flotilla(['completion', 'bash'])).stdout).toContain('fetch');
  });

  it('keygen, push and fetch: a package round trip through the bundle, file steps on worker threads', async () => {
    const tree = join(t.dir, 'tree');
    await mkdir(join(tree, 'bin'), { recursive: true });
    await writeFile(join(tree, 'bin', 'data'), Buffer.alloc(300_000, 7));
    // From a directory store, 4,096 files or more run on threads whose code is the text of a bundled
    // function (src/fetch/fs-op-runner.ts): the bundle must keep it self-contained.
    await mkdir(join(tree, 'many'));
    await Promise.all(Array.from({ length: 4100 }, (_, i) => writeFile(join(tree, 'many', `f${i}`), `file ${i}\n`)));
    const keygen = await flotilla(['keygen', '--name', 'bin-test', '--out', join(t.dir, 'k.secret')]);
    expect(keygen.code).toBe(0);
    const pub = keygen.stdout.trim();
    const store = join(t.dir, 'store');
    const push = await flotilla(['push', tree, '--store', store, '--sign-key', join(t.dir, 'k.secret')]);
    expect(push.code, push.stderr).toBe(0);
    const digest = push.stdout.trim();
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const state = join(t.dir, 'state');
    const fetch = await flotilla(['fetch', digest, '--store', store, '--trust', pub, '--state', state, '--json']);
    expect(fetch.code, fetch.stderr).toBe(0);
    const placed = (JSON.parse(fetch.stdout.trim().split('\n').pop() as string) as { data: { packages: Array<{ path: string }> } }).data.packages;
    expect(await readFile(join(placed[0]?.path as string, 'bin', 'data'))).toEqual(Buffer.alloc(300_000, 7));
    expect(await readFile(join(placed[0]?.path as string, 'many', 'f4099'), 'utf8')).toBe('file 4099\n');
  });

  it('finds the schemas from where the bundle lies (a config error names the file and field)', async () => {
    const config = join(t.dir, 'agent.yaml');
    await writeFile(config, 'machine: m1\nnot_a_field: 1\n');
    const r = await flotilla(['agent', '--once', '--config', config]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('agent.yaml:2:1 /not_a_field unknown property "not_a_field"');
  });

  it('holds isomorphic-git and yaml: a verb that reads a deploy repo loads neither from node_modules', async () => {
    // Required from node_modules, their ~90 files cost every start of the CLI and the tick worker ~55 ms
    // (scripts/bundle-cli.mjs, BUNDLED_PACKAGES). A --require'd probe lists the files loaded from there.
    const probe = join(t.dir, 'npm-probe.cjs');
    const out = join(t.dir, 'npm-probe.json');
    await writeFile(probe, `process.on('exit', () => require('node:fs').writeFileSync(process.env.PROBE_OUT, JSON.stringify(Object.keys(require.cache).filter((k) => k.includes('/node_modules/')))));\n`);
    const repo = join(t.dir, 'probe-repo');
    await cp(resolve('examples/deploy-repo'), repo, { recursive: true });
    const r = await new Promise<Run>((done) => {
      execFile(bin, ['validate', '--dir', repo], { env: { ...process.env, FLOTILLA_LOG_LEVEL: 'warn', NODE_OPTIONS: `--require ${probe}`, PROBE_OUT: out }, timeout: 60_000 }, (err, stdout, stderr) => {
        done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
      });
    });
    expect(r.code, r.stderr).toBe(0);
    const loaded = JSON.parse(await readFile(out, 'utf8')) as string[];
    expect(loaded.filter((f) => /\/node_modules\/(isomorphic-git|yaml)\//.test(f))).toEqual([]);
    for (const name of ['flotilla-cli.js', 'tick-worker-body.js']) {
      const text = await readFile(resolve('dist/bin', name), 'utf8');
      expect(text.match(/require\("(isomorphic-git|yaml)[/"]/g), name).toBeNull();
    }
  });

  it('the bin runs plain node: a V8 flag there would cost every start Node\'s own code cache (docs/performance.md)', async () => {
    // The bin is the launcher (a shell script), which execs Node on flotilla.js, whose own shebang is plain too.
    const launcher = await readFile(bin, 'utf8');
    expect(launcher.split('\n')[0]).toBe('#!/bin/sh');
    expect(launcher.split('\n').filter((l) => l.startsWith('exec '))).toEqual(['exec node "${self%/*}/flotilla.js" "$@"']);
    const entry = join(bin, '..', 'flotilla.js');
    expect((await readFile(entry, 'utf8')).split('\n')[0]).toBe('#!/usr/bin/env node');
  });
});
