// Bundles the compiled CLI (dist/src, from tsc) into dist/bin/, the package's `bin` (npm run build runs it
// after tsc). Node loads ES modules one file at a time: a one-shot `flotilla fetch` spent about half its
// time resolving, reading and compiling ~65 of them. Bundled, a verb loads its entry and a few chunks.
// `splitting` keeps every verb lazy: each `import('./verb-NAME.js')` of the command table becomes a chunk,
// and code shared by several verbs a shared chunk, so a verb loads exactly the modules it reaches, as
// before. npm dependencies stay external (loaded from node_modules as before; none is on the fetch path).
// The tick worker is a second entry beside the CLI, under the name worker-client.ts forks
// (./tick-worker-main.js next to it); chunks stay in the same folder so that relative URL still holds.
// Written to a fresh folder and renamed into place, so a run never sees half a bundle.
import { chmodSync, existsSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'bin');
const fresh = `${out}.new-${process.pid}`;
const old = `${out}.old-${process.pid}`;

rmSync(fresh, { recursive: true, force: true });
await build({
  entryPoints: {
    flotilla: join(root, 'dist', 'src', 'cli', 'main.js'),
    'tick-worker-main': join(root, 'dist', 'src', 'agent', 'tick-worker-main.js'),
  },
  outdir: fresh,
  entryNames: '[name]',
  chunkNames: "[name]-[hash]",
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  packages: 'external',
  legalComments: 'none',
  logLevel: 'warning',
});
// The shebang comes from src/cli/main.ts; npm makes bin targets executable on install, the build does too.
chmodSync(join(fresh, 'flotilla.js'), 0o755);
if (existsSync(out)) renameSync(out, old);
renameSync(fresh, out);
rmSync(old, { recursive: true, force: true });
