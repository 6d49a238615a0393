// A fetch that downloads keeps V8's young generation at its initial size (src/cli/young-generation.ts): the
// flag is set at run time, once the fetch knows it must download, because on the bin's shebang it cost
// every start Node's code cache. Checked on the real bin, over a real HTTP store: the process records the
// largest new space it had (a --require'd probe writing v8's heap space figures at exit), and a plain Node
// process doing the same churn is the control that shows the new space would grow otherwise.
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushDirectory } from '../../src/publish/push-directory.js';
import { openStore } from '../../src/store/open-store.js';
import { formatPublicKey } from '../../src/trust/publisher-key.js';
import { CLI } from '../helpers/cli-bin.js';
import { startHttpStoreServer, type HttpStoreServer } from '../helpers/http-store-server.js';
import { makeKeyPair, makeTempDir } from '../helpers/package-fixtures.js';
import { generateTree } from '../helpers/tree-gen.js';

const run = promisify(execFile);

/** Records the largest new space seen (sampled, and at exit) into the file named by $PROBE_OUT. */
const PROBE = `const v8 = require('node:v8'); let max = 0;
const sample = () => { const s = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space'); if (s && s.space_size > max) max = s.space_size; };
setInterval(sample, 5).unref();
process.on('exit', () => { sample(); require('node:fs').writeFileSync(process.env.PROBE_OUT, String(max)); });
`;

describe('a downloading fetch keeps the young generation small', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let http: HttpStoreServer;
  let digest: string;
  let probe: string;
  const key = makeKeyPair('release-1');

  beforeAll(async () => {
    t = await makeTempDir();
    const src = join(t.dir, 'src');
    await mkdir(src);
    await generateTree(src, { seed: 18, files: 300, minSize: 20_000, maxSize: 600_000 });
    const storeDir = join(t.dir, 'store');
    digest = (await pushDirectory(openStore(storeDir), src, { name: 'big', signKeys: [key.secret] })).digest;
    http = await startHttpStoreServer(storeDir);
    probe = join(t.dir, 'probe.cjs');
    await writeFile(probe, PROBE);
  });
  afterAll(async () => {
    await http?.close();
    await t?.cleanup();
  });

  async function newSpaceOf(args: string[], name: string): Promise<number> {
    const out = join(t.dir, `${name}.out`);
    await run(process.execPath, args, { env: { ...process.env, NODE_OPTIONS: `--require ${probe}`, PROBE_OUT: out, FLOTILLA_LOG_LEVEL: 'warn' } });
    return Number(await readFile(out, 'utf8'));
  }

  it('the cold fetch stays at the 4 MiB it starts with; short-lived garbage without the flag grows past it', async () => {
    const fetched = await newSpaceOf([CLI, 'fetch', digest, '--store', http.url, '--trust', formatPublicKey(key.public), '--state', join(t.dir, 'state'), '--json'], 'fetch');
    // Control: short-lived garbage in a plain process grows the new space (so the fetch's bound is the flag's doing).
    const churn = 'let keep = []; for (let i = 0; i < 300000; i++) { keep.push(Buffer.from("x".repeat(200))); if (keep.length > 5000) keep = []; }';
    const control = await newSpaceOf(['-e', churn], 'control');
    expect(control).toBeGreaterThan(8 * 1024 * 1024);
    expect(fetched).toBeLessThanOrEqual(4 * 1024 * 1024);
  });
});
