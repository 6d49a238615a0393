// A fetch that downloads keeps V8's young generation at its initial size (src/cli/young-generation.ts): the
// flag is set at run time, once the fetch knows it must download, because on the bin's shebang it cost
// every start Node's code cache; it is set again once fs worker threads are online, whose start resets it
// (src/util/v8-flags.ts). From a network store it also runs a full collection every FETCH_GC_BYTES fetched
// through the HTTP client (its per-read buffers otherwise pile up as RSS), and none for packs, which plain
// HTTP reads into one reused buffer (src/store/http-read-into.ts). Checked on the real bin, over a real HTTP store and from a
// directory store (which starts worker threads): the process records the largest new space it had and the
// forced full collections it ran (a --require'd probe writing v8's figures at exit), and a plain Node
// process doing the same churn is the control that shows the new space would grow otherwise.
import { execFile } from 'node:child_process';
import { lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushDirectory } from '../../src/publish/push-directory.js';
import { openStore } from '../../src/store/open-store.js';
import { formatPublicKey } from '../../src/trust/publisher-key.js';
import { CLI } from '../helpers/cli-bin.js';
import { startHttpStoreServer, type HttpStoreServer } from '../helpers/http-store-server.js';
import { makeKeyPair, makeTempDir } from '../helpers/package-fixtures.js';
import { generateTree } from '../helpers/tree-gen.js';
import { FETCH_GC_BYTES } from '../../src/cli/young-generation.js';

const run = promisify(execFile);

/**
 * Records the largest new space seen (sampled, and at exit) and the count of forced full collections into
 * the file named by $PROBE_OUT, as JSON.
 */
const PROBE = `const v8 = require('node:v8'); const ph = require('node:perf_hooks'); let max = 0; let forced = 0;
const sample = () => { const s = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space'); if (s && s.space_size > max) max = s.space_size; };
setInterval(sample, 5).unref();
new ph.PerformanceObserver((list) => { for (const e of list.getEntries()) if (e.detail.kind === ph.constants.NODE_PERFORMANCE_GC_MAJOR && (e.detail.flags & ph.constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) !== 0) forced++; }).observe({ entryTypes: ['gc'] });
process.on('exit', () => { sample(); require('node:fs').writeFileSync(process.env.PROBE_OUT, JSON.stringify({ newSpace: max, forced })); });
`;

interface Probed {
  newSpace: number;
  forced: number;
}

describe('a downloading fetch keeps the young generation small', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let http: HttpStoreServer;
  let unpacked: HttpStoreServer;
  let digest: string;
  let storeDir: string;
  let bytes: number;
  let probe: string;
  const key = makeKeyPair('release-1');

  beforeAll(async () => {
    t = await makeTempDir();
    const src = join(t.dir, 'src');
    await mkdir(src);
    const files = await generateTree(src, { seed: 18, files: 300, minSize: 20_000, maxSize: 600_000 });
    bytes = (await Promise.all(files.map((f) => lstat(join(src, f))))).reduce((a, st) => a + (st.isFile() ? st.size : 0), 0);
    storeDir = join(t.dir, 'store');
    digest = (await pushDirectory(openStore(storeDir), src, { name: 'big', signKeys: [key.secret] })).digest;
    http = await startHttpStoreServer(storeDir);
    // The same package pushed without packs: every object comes through the HTTP client, one by one.
    const unpackedDir = join(t.dir, 'store-unpacked');
    await pushDirectory(openStore(unpackedDir), src, { name: 'big', signKeys: [key.secret], packs: false });
    unpacked = await startHttpStoreServer(unpackedDir);
    probe = join(t.dir, 'probe.cjs');
    await writeFile(probe, PROBE);
  });
  afterAll(async () => {
    await http?.close();
    await unpacked?.close();
    await t?.cleanup();
  });

  async function probed(args: string[], name: string): Promise<Probed> {
    const out = join(t.dir, `${name}.out`);
    await run(process.execPath, args, { env: { ...process.env, NODE_OPTIONS: `--require ${probe}`, PROBE_OUT: out, FLOTILLA_LOG_LEVEL: 'warn' } });
    return JSON.parse(await readFile(out, 'utf8')) as Probed;
  }
  const fetchArgs = (store: string, state: string): string[] => [CLI, 'fetch', digest, '--store', store, '--trust', formatPublicKey(key.public), '--state', join(t.dir, state), '--json'];
  // Control: short-lived garbage in a plain process grows the new space (so the fetch's bound is the flag's doing).
  const churn = 'let keep = []; for (let i = 0; i < 300000; i++) { keep.push(Buffer.from("x".repeat(200))); if (keep.length > 5000) keep = []; }';

  it('the cold fetch stays at the 4 MiB it starts with; short-lived garbage without the flag grows past it', async () => {
    const fetched = await probed(fetchArgs(http.url, 'state'), 'fetch');
    const control = await probed(['-e', churn], 'control');
    expect(control.newSpace).toBeGreaterThan(8 * 1024 * 1024);
    expect(fetched.newSpace).toBeLessThanOrEqual(4 * 1024 * 1024);
  });

  it('over HTTP it runs a full collection every FETCH_GC_BYTES read through the client, none for packs read into its own buffer; a plain process runs none', async () => {
    const oneByOne = await probed(fetchArgs(unpacked.url, 'state-gc'), 'fetch-gc');
    // Each collection waits for FETCH_GC_BYTES more, counted per verified object (here at most 600 kB).
    const due = Math.floor(bytes / (FETCH_GC_BYTES + 600_000));
    expect(due).toBeGreaterThanOrEqual(4);
    expect(oneByOne.forced).toBeGreaterThanOrEqual(due);
    const packed = await probed(fetchArgs(http.url, 'state-packed'), 'fetch-packed');
    expect(packed.forced).toBe(0);
    expect((await probed(['-e', churn], 'control-gc')).forced).toBe(0);
  });

  it('fs worker threads set the cap again after their start resets it (else the new space grows to 16 MiB)', async () => {
    // The built modules in a plain process: the flag set, two worker threads started and answering, then churn.
    const dist = (m: string): string => JSON.stringify(pathToFileURL(join(process.cwd(), 'dist/src', m)).href);
    const script = `const { setV8Flags } = await import(${dist('util/v8-flags.js')});
const { threadFsOpRunner } = await import(${dist('fetch/fs-op-runner.js')});
setV8Flags('--semi-space-growth-factor=1');
const runner = threadFsOpRunner(2);
await Promise.all([runner.run([]), runner.run([])]);
${churn}
await runner.close();`;
    // A file, not `-e`: the workers inherit `--input-type=module`, under which their CommonJS source fails.
    const file = join(t.dir, 'threads.mjs');
    await writeFile(file, script);
    const out = await probed([file], 'threads');
    expect(out.newSpace).toBeLessThanOrEqual(4 * 1024 * 1024);
  });

  it('from a directory store, whose cold fetch starts worker threads, the young generation stays small too', async () => {
    const fetched = await probed(fetchArgs(storeDir, 'state-dir'), 'fetch-dir');
    // Making a worker's isolate resets the cap until the worker sets it again: one growth step (4 → 8 MiB)
    // may slip into that moment; without setting it again the new space grows to V8's 16 MiB.
    expect(fetched.newSpace).toBeLessThanOrEqual(8 * 1024 * 1024);
    // From a directory no socket buffers pile up: no forced collection is paid for.
    expect(fetched.forced).toBe(0);
  });
});
