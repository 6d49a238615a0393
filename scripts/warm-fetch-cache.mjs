// Build time (scripts/bundle-cli.mjs): the exercise after which the fetch bundle's code cache is taken
// (makeExercisedCodeCache, src/cli/code-cache.ts). A real no-op fetch, as a machine runs it on every
// rollout: a one-file package pushed and signed with a fresh key into a directory store, fetched once in
// full by the compiled modules (dist/src), then fetched again by the bundle's own runCli, which finds it in
// place. Everything happens in a temp dir, removed afterwards; nothing is read from the network.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const src = (path) => join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'src', path);

/** Runs the no-op fetch with `cli` (the fetch bundle's exports). Throws when it does not answer as one. */
export async function exerciseNoopFetch(cli) {
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-warm-'));
  try {
    const [{ generateKeyPair, parsePublicKey, parseSecretKey }, { pushDirectory }, { openStore }, { fetchClosure }] = await Promise.all([
      import(src('trust/publisher-key.js')),
      import(src('publish/push-directory.js')),
      import(src('store/open-store.js')),
      import(src('fetch/fetch-closure.js')),
    ]);
    const pair = generateKeyPair('build');
    const pkg = join(dir, 'pkg');
    await mkdir(pkg);
    await writeFile(join(pkg, 'file'), 'a file\n');
    const storeDir = join(dir, 'store');
    const { digest } = await pushDirectory(openStore(storeDir), pkg, { name: 'pkg', signKeys: [parseSecretKey(pair.secret)] });
    const state = join(dir, 'state');
    await fetchClosure({ stores: [openStore(storeDir)], digest, policy: { trusted: [parsePublicKey(pair.public)] }, stateDir: state });
    let out = '';
    const stdout = { write: (chunk) => ((out += String(chunk)), true) };
    const code = await cli.runCli(['fetch', digest, '--store', storeDir, '--trust', pair.public, '--state', state, '--json'], { stdout, stderr: { write: () => true }, env: {}, cwd: dir });
    if (code !== 0 || !out.includes('"requests":0')) throw new Error(`the no-op fetch the code cache is made after did not answer as one (exit ${code}): ${out}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
