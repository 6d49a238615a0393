// A fetch that downloads raises V8's interrupt budget (src/util/tier-up.ts), so that its half second of
// work does not spend a tenth of its CPU optimising functions that run a few thousand times; a no-op fetch,
// which never loads the object path, leaves V8 as it starts (a flag set at run time would cost its later
// built-ins their code cache). Checked on the real bin over a real HTTP store, and from a real Nix binary
// cache: a --require'd probe records every V8 flag the process sets, in order, and the built-in modules
// loaded after the first, and writes them to $PROBE_OUT at exit.
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FETCH_INTERRUPT_BUDGET } from '../../src/util/tier-up.js';
import { pushDirectory } from '../../src/publish/push-directory.js';
import { openStore } from '../../src/store/open-store.js';
import { formatPublicKey } from '../../src/trust/publisher-key.js';
import { CLI } from '../helpers/cli-bin.js';
import { startHttpStoreServer, type HttpStoreServer } from '../helpers/http-store-server.js';
import { makeKeyPair, makeTempDir } from '../helpers/package-fixtures.js';
import { generateTree } from '../helpers/tree-gen.js';
import { buildNixClosure, publishNixCache, type NixClosureFixture } from '../helpers/nix-closure.js';
import { makeScratch, type Scratch } from '../../scripts/world/tools.js';

const run = promisify(execFile);

const PROBE = `const v8 = require('node:v8'); const set = v8.setFlagsFromString; const flags = []; let before;
v8.setFlagsFromString = (f) => { flags.push(String(f)); before ??= new Set(process.moduleLoadList); return set(f); };
process.on('exit', () => {
  const after = before === undefined ? [] : process.moduleLoadList.filter((m) => !before.has(m) && m.startsWith('NativeModule '));
  require('node:fs').writeFileSync(process.env.PROBE_OUT, JSON.stringify({ flags, after }));
});
`;
interface Probed {
  flags: string[];
  /** Node's built-in modules loaded after the first flag was set (compiled without Node's code cache). */
  after: string[];
}

describe('a downloading fetch tiers its functions up later', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let http: HttpStoreServer;
  let digest: string;
  let probe: string;
  const key = makeKeyPair('release-1');

  beforeAll(async () => {
    t = await makeTempDir();
    const src = join(t.dir, 'src');
    await mkdir(src);
    await generateTree(src, { seed: 32, files: 40, minSize: 1_000, maxSize: 200_000 });
    const storeDir = join(t.dir, 'store');
    digest = (await pushDirectory(openStore(storeDir), src, { name: 'pkg', signKeys: [key.secret] })).digest;
    http = await startHttpStoreServer(storeDir);
    probe = join(t.dir, 'probe.cjs');
    await writeFile(probe, PROBE);
  });
  afterAll(async () => {
    await http?.close();
    await t?.cleanup();
  });

  async function flagsOf(state: string, name: string): Promise<string[]> {
    return (await probed(state, name)).flags;
  }

  async function probed(state: string, name: string): Promise<Probed> {
    const out = join(t.dir, `${name}.out`);
    const args = [CLI, 'fetch', digest, '--store', http.url, '--trust', formatPublicKey(key.public), '--state', join(t.dir, state), '--json'];
    const { stdout } = await run(process.execPath, args, { env: { ...process.env, NODE_OPTIONS: `--require ${probe}`, PROBE_OUT: out, FLOTILLA_LOG_LEVEL: 'warn' } });
    expect((JSON.parse(stdout) as { ok: boolean }).ok).toBe(true);
    return JSON.parse(await readFile(out, 'utf8')) as Probed;
  }

  it('the cold fetch sets the interrupt budget, after the young generation cap; the no-op after it sets no flag', async () => {
    const probe = await probed('state', 'cold');
    // The built-ins the fetch uses were loaded before the flags changed, with Node's code cache.
    expect(probe.after).toEqual([]);
    const cold = probe.flags;
    const budget = cold.indexOf(`--interrupt-budget=${FETCH_INTERRUPT_BUDGET}`);
    expect(budget).toBeGreaterThanOrEqual(0);
    // Set after the built-ins the fetch needs were loaded (with keepYoungGenerationSmall's flag), not before.
    expect(cold.indexOf('--semi-space-growth-factor=1')).toBeGreaterThanOrEqual(0);
    expect(cold.indexOf('--semi-space-growth-factor=1')).toBeLessThan(budget);
    // Its bytes came through the HTTP store's own buffer: no full collection was due, so none was made.
    expect(cold).not.toContain('--expose-gc');
    expect(await flagsOf('state', 'noop')).toEqual([]);
  });

  it('raises V8’s own default (which a Node upgrade could move past it) by half or more', async () => {
    const { stdout } = await run(process.execPath, ['--v8-options'], { maxBuffer: 16 << 20 });
    const m = /--interrupt-budget[^\n]*\n\s*type: int\s+default: --interrupt-budget=(\d+)/.exec(stdout);
    expect(m).not.toBeNull();
    expect(FETCH_INTERRUPT_BUDGET).toBeGreaterThanOrEqual(1.5 * Number(m?.[1]));
  });
});

describe('a Nix fetch that downloads tiers its functions up later', () => {
  let scratch: Scratch;
  let fx: NixClosureFixture;
  let probe: string;
  beforeAll(async () => {
    scratch = await makeScratch('nix-tier-up');
    fx = await buildNixClosure(scratch.path, [{ name: 'tier-lib', blobBytes: 2_000_000, files: 20 }]);
    await publishNixCache(fx, join(scratch.path, 'cache'), 'none');
    probe = join(scratch.path, 'probe.cjs');
    await writeFile(probe, PROBE);
  }, 120_000);
  afterAll(() => scratch?.cleanup());

  async function probed(name: string): Promise<Probed> {
    const out = join(scratch.path, `${name}.out`);
    const args = [CLI, 'fetch', fx.top, '--store', `nix+file://${join(scratch.path, 'cache')}`, '--trust', fx.publicKey, '--root', join(scratch.path, 'root'), '--register', 'never', '--json'];
    const { stdout } = await run(process.execPath, args, { env: { ...process.env, NODE_OPTIONS: `--require ${probe}`, PROBE_OUT: out, FLOTILLA_LOG_LEVEL: 'warn' } });
    expect((JSON.parse(stdout) as { ok: boolean }).ok).toBe(true);
    return JSON.parse(await readFile(out, 'utf8')) as Probed;
  }

  it('sets the interrupt budget once it has a path to fetch, loading no built-in after it; the no-op sets no flag', async () => {
    const cold = await probed('cold');
    expect(cold.flags).toEqual([`--interrupt-budget=${FETCH_INTERRUPT_BUDGET}`]);
    expect(cold.after).toEqual([]);
    expect(await probed('noop')).toEqual({ flags: [], after: [] });
  });
});
