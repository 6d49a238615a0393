// Bundles the compiled CLI (dist/src, from tsc) into dist/bin/, the package's `bin` (npm run build runs it
// after tsc). Node loads ES modules one file at a time: a one-shot `flotilla fetch` spent about half its
// time resolving, reading and compiling ~110 of them. Bundled, a verb loads its entry and a few chunks.
// `splitting` keeps every verb lazy: each `import('./verb-NAME.js')` of the command table becomes a chunk,
// and code shared by several verbs a shared chunk, so a verb loads exactly the modules it reaches, as
// before. npm dependencies stay external (loaded from node_modules as before; none is on the fetch path).
// The tick worker is built beside the CLI, under the name worker-client.ts forks (./tick-worker-main.js
// next to it); chunks stay in the same folder so relative URLs still hold.
// Written to a fresh folder and renamed into place, so a run never sees half a bundle.
import { chmodSync, existsSync, renameSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'bin');
const fresh = `${out}.new-${process.pid}`;
const old = `${out}.old-${process.pid}`;

const main = join(root, 'dist', 'src', 'cli', 'main.js');
const common = { bundle: true, format: 'esm', platform: 'node', target: 'node20.19', packages: 'external', logLevel: 'warning' };

/**
 * The modules `main` imports statically (without main itself) and the modules imported dynamically (the
 * verbs, and what they load lazily), read from a first, unwritten pass.
 */
async function moduleGraph() {
  const dynamic = new Set();
  const record = {
    name: 'record-dynamic-imports',
    setup(b) {
      b.onResolve({ filter: /^\./, namespace: 'file' }, (args) => {
        if (args.kind === 'dynamic-import') dynamic.add(join(args.resolveDir, args.path));
        return undefined;
      });
    },
  };
  const { metafile } = await build({ ...common, entryPoints: [main], splitting: true, outdir: fresh, write: false, metafile: true, plugins: [record] });
  const rel = (abs) => relative(root, abs);
  const core = new Set();
  const todo = [rel(main)];
  while (todo.length > 0) {
    const file = todo.pop();
    if (core.has(file)) continue;
    core.add(file);
    for (const i of metafile.inputs[file]?.imports ?? []) if (i.kind === 'import-statement' && !i.external) todo.push(i.path);
  }
  core.delete(rel(main));
  return { core: [...core].map((f) => join(root, f)), dynamic };
}

/**
 * esbuild puts a module shared by several entries (main and each lazily imported verb) in a chunk per set
 * of entries that reach it: the ~40 modules main needs came out as 7 chunks, each loaded as its own file.
 * Every lazily imported module is made to import them too (they are in memory before any lazy import
 * runs, so nothing changes at run time): they all have the same set and form one chunk.
 */
function importCoreEverywhere(core, dynamic) {
  return {
    name: 'import-core-everywhere',
    setup(b) {
      b.onLoad({ filter: /\.js$/, namespace: 'file' }, async (args) => {
        if (!dynamic.has(args.path)) return undefined;
        const text = await readFile(args.path, 'utf8');
        return { contents: `${text}\n${core.map((f) => `import ${JSON.stringify(f)};`).join('\n')}\n`, loader: 'js', resolveDir: dirname(args.path) };
      });
    },
  };
}

rmSync(fresh, { recursive: true, force: true });
const { core, dynamic } = await moduleGraph();
await build({
  ...common,
  entryPoints: { flotilla: main },
  outdir: fresh,
  entryNames: '[name]',
  chunkNames: '[name]-[hash]',
  splitting: true,
  legalComments: 'none',
  plugins: [importCoreEverywhere(core, dynamic)],
});
// The tick worker is another process: its own build (its own chunks, none of the CLI's core in them).
await build({
  ...common,
  entryPoints: { 'tick-worker-main': join(root, 'dist', 'src', 'agent', 'tick-worker-main.js') },
  outdir: fresh,
  entryNames: '[name]',
  chunkNames: 'worker-[name]-[hash]',
  splitting: true,
  legalComments: 'none',
});
// The shebang comes from src/cli/main.ts; npm makes bin targets executable on install, the build does too.
chmodSync(join(fresh, 'flotilla.js'), 0o755);
if (existsSync(out)) renameSync(out, old);
renameSync(fresh, out);
rmSync(old, { recursive: true, force: true });
