// Bundles the compiled CLI (dist/src, from tsc) into dist/bin/, the package's `bin` (npm run build runs it
// after tsc), as CommonJS: Node loads ES modules one file at a time (resolve, read through libuv's pool,
// compile, link), and its ES module loader alone costs a start more than a script does; a `require`d
// CommonJS file is read and compiled at once (docs/performance.md, "Process start").
//   flotilla.js          the entry (src/cli/bin-entry.ts): answers `--help` and `VERB --help` from the help
//                        table taken here from the CLI itself, and otherwise requires the CLI.
//   flotilla-cli.js      the CLI (src/cli/main.ts and everything it reaches), with flotilla-cli.cache, V8's
//                        code cache of it (src/cli/code-cache.ts): compiling it took more CPU than anything
//                        else in a no-op fetch. Each lazily imported verb, and
//                        each lazy import inside one (the S3 store, the supervisor, the Nix fetch), stays lazy:
//                        esbuild wraps it in a function run on first import, and the npm dependencies it
//                        requires (external, from node_modules) are required only then.
//   flotilla-fetch.js    the same CLI with `fetch` as its only verb, which the entry loads for `flotilla
//                        fetch`: a quarter of the bytes, on the path every machine runs on every rollout;
//                        its flotilla-fetch.cache is taken after a real no-op fetch (warm-fetch-cache.mjs),
//                        so it holds the functions that path runs too (docs/performance.md).
//   flotilla-agent.js    the same for `agent` and its subverbs: the supervisor, which stays up on every
//                        machine, without the other verbs' code or the bundled packages.
//   tick-worker-main.js  the tick worker, another process, under the name worker-client.ts forks: its
//                        entry, which sets its V8 flags between compiling and running
//   tick-worker-body.js  the worker's body (src/agent/tick-worker.ts and all it reaches), with
//                        tick-worker-body.cache, its code cache.
//   flotilla             the package's `bin`: a shell launcher that execs Node on flotilla.js with
//                        NODE_EXTRA_CA_CERTS deferred (src/cli/flotilla-launcher.sh).
//   package.json         `"type": "commonjs"`, so that Node reads these .js files as scripts.
//   esm-import.cjs       copied as it is (src/nix/esm-import.cjs): an `import()` the bundles cannot hold.
//   schema-validators.cjs  copied as it is: the schemas' validators, which the prebuild generates.
// Written to a fresh folder and renamed into place, so a run never sees half a bundle.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'bin');
const fresh = `${out}.new-${process.pid}`;
const old = `${out}.old-${process.pid}`;
const src = (path) => join(root, 'dist', 'src', path);

// `import.meta.url` has no CommonJS meaning: modules that find files beside them (the schemas, the tick
// worker, createRequire) get their bundle's URL instead, which lies in the same place relative to them.
const MODULE_URL = '__flotilla_module_url';
const moduleUrl = { define: { 'import.meta.url': MODULE_URL }, banner: { js: `const ${MODULE_URL} = require("node:url").pathToFileURL(__filename).href;` } };
const common = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20.19',
  packages: 'external',
  logLevel: 'warning',
  legalComments: 'none',
  outdir: fresh,
  entryNames: '[name]',
  // `import()` becomes a lazy `require`: no ES module loader at all (openpgp and node:https load this way).
  supported: { 'dynamic-import': false },
};

/**
 * npm packages bundled into the CLI's and the tick worker's bundles instead of required from node_modules:
 * the pure-JavaScript ones that every tick and most verbs load. Required from node_modules, their ~90 files
 * cost a start ~55 ms of resolving, reading and compiling (isomorphic-git and yaml with their own
 * dependencies), and no code cache covers them. The others stay out: the AWS SDK and openpgp are loaded
 * only on use, pino and node-cron start threads or processes from files of their own, and the fetch
 * bundle uses none of these two.
 */
const BUNDLED_PACKAGES = ['isomorphic-git', 'yaml'];
const { dependencies } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const withBundledPackages = {
  packages: undefined,
  external: Object.keys(dependencies).filter((d) => !BUNDLED_PACKAGES.includes(d)).flatMap((d) => [d, `${d}/*`]),
};

/**
 * Verbs with a bundle of their own, `flotilla-VERB.js`: the CLI with that verb alone (onlyVerbPlugin), and
 * its subverbs (`agent status`, `agent reconcile`). `fetch` runs on every machine on every rollout; `agent`
 * is the supervisor, which stays up on every machine: neither needs the packages the whole CLI bundles
 * (BUNDLED_PACKAGES), nor the other verbs' code, and its idle RSS would carry them.
 */
const OWN_BUNDLES = ['fetch', 'agent'];

/**
 * The entry: the help table, which the unbundled module leaves undefined (src/cli/help-table.ts), is the
 * CLI's own output (help-snapshot.ts), and loadMain (src/cli/load-main.ts) requires the CLI's bundle for
 * the verb (its own among OWN_BUNDLES, else the whole CLI's) with its code cache (code-cache.ts), loaded
 * only then.
 */
function entryPlugin(table) {
  const loadMain = `import { join } from 'node:path';
const OWN = new Set(${JSON.stringify(OWN_BUNDLES)});
export const loadMain = async (verb) => {
  const { requireWithCodeCache } = await import(${JSON.stringify(src('cli/code-cache.js'))});
  const name = OWN.has(verb) ? \`flotilla-\${verb}\` : 'flotilla-cli';
  return requireWithCodeCache(join(__dirname, \`\${name}.js\`), join(__dirname, \`\${name}.cache\`)).exports;
};
`;
  return {
    name: 'bin-entry',
    setup(b) {
      b.onLoad({ filter: /(help-table|load-main)\.js$/ }, (args) => {
        if (args.path === src('cli/help-table.js')) return { contents: `export const HELP_TABLE = ${JSON.stringify(table)};\n`, loader: 'js' };
        if (args.path === src('cli/load-main.js')) return { contents: loadMain, loader: 'js' };
        return undefined;
      });
    },
  };
}

/**
 * The tick worker's entry: load-tick-worker.ts, which imports the worker's body unbundled, compiles the
 * body's own bundle (tick-worker-body.js) from its code cache instead, for the entry to run once it has
 * set its V8 flags. The entry bundle is then small (the flags, the CA certificates), the body is not in it.
 */
function workerBodyPlugin() {
  const contents = `import { join } from 'node:path';
import { compileWithCodeCache } from ${JSON.stringify(src('cli/code-cache.js'))};
export const compileTickWorker = () => {
  const body = compileWithCodeCache(join(__dirname, 'tick-worker-body.js'), join(__dirname, 'tick-worker-body.cache'));
  return { cached: body.cached, load: async () => body.run() };
};
`;
  return {
    name: 'worker-body',
    setup(b) {
      b.onLoad({ filter: /load-tick-worker\.js$/ }, (args) => (args.path === src('agent/load-tick-worker.js') ? { contents, loader: 'js' } : undefined));
    },
  };
}

/**
 * The CLI with `verb` (and its subverbs) as its only loadable verbs: every other verb the command table (src/cli/commands.ts)
 * imports becomes a module that throws, so none of their code is in the bundle. The table itself is
 * unchanged (names, summaries, the suggestions for a typo); the entry loads this bundle only when the first
 * argument is `verb`, so the stubs are never reached.
 */
function onlyVerbPlugin(verb) {
  return {
    name: `only-${verb}`,
    setup(b) {
      b.onResolve({ filter: /^\.\/verb-[a-z-]+\.js$/ }, (args) => {
        if (args.importer !== src('cli/commands.js') || args.path === `./verb-${verb}.js` || args.path.startsWith(`./verb-${verb}-`)) return undefined;
        return { path: args.path, namespace: 'absent-verb' };
      });
      b.onLoad({ filter: /.*/, namespace: 'absent-verb' }, (args) => ({
        contents: `throw new Error(${JSON.stringify(`${args.path} is not in the bundle of \`flotilla ${verb}\` (scripts/bundle-cli.mjs)`)});\n`,
        loader: 'js',
      }));
    },
  };
}

/**
 * V8's code cache of a CLI bundle, made by a Node started with the flags of the entry's shebang (V8
 * rejects a cache made under other flags), beside the bundle and with its mtime.
 */
function makeCodeCache(dir, name) {
  const shebang = readFileSync(src('cli/bin-entry.js'), 'utf8').split('\n')[0] ?? '';
  const flags = shebang.split(/\s+/).slice(shebang.split(/\s+/).indexOf('node') + 1);
  const [js, cache] = [JSON.stringify(join(dir, `${name}.js`)), JSON.stringify(join(dir, `${name}.cache`))];
  // The fetch bundle's cache is taken after a real no-op fetch (warm-fetch-cache.mjs), so it also holds the
  // functions that path runs; exit at once: the full fetch before it may leave worker threads.
  const exercised = `Promise.all([import(${JSON.stringify(src('cli/code-cache.js'))}), import(${JSON.stringify(join(root, 'scripts', 'warm-fetch-cache.mjs'))})]).then(([m, w]) => m.makeExercisedCodeCache(${js}, ${cache}, w.exerciseNoopFetch)).then(() => process.exit(0))`;
  const script = name === 'flotilla-fetch' ? exercised : `import(${JSON.stringify(src('cli/code-cache.js'))}).then((m) => m.makeCodeCache(${js}, ${cache}))`;
  execFileSync(process.execPath, [...flags, '-e', script], { stdio: 'inherit' });
}

rmSync(fresh, { recursive: true, force: true });
mkdirSync(fresh, { recursive: true });
const { snapshotHelp } = await import(src('cli/help-snapshot.js'));
const table = await snapshotHelp();
await build({ ...common, entryPoints: { flotilla: src('cli/bin-entry.js') }, plugins: [entryPlugin(table)] });
await build({ ...common, ...moduleUrl, ...withBundledPackages, entryPoints: { 'flotilla-cli': src('cli/main.js') } });
for (const verb of OWN_BUNDLES) await build({ ...common, ...moduleUrl, entryPoints: { [`flotilla-${verb}`]: src('cli/main.js') }, plugins: [onlyVerbPlugin(verb)] });
await build({ ...common, ...moduleUrl, entryPoints: { 'tick-worker-main': src('agent/tick-worker-main.js') }, plugins: [workerBodyPlugin()] });
await build({ ...common, ...moduleUrl, ...withBundledPackages, entryPoints: { 'tick-worker-body': src('agent/tick-worker.js') } });
writeFileSync(join(fresh, 'package.json'), '{ "type": "commonjs" }\n');
// Loaded by a computed `require` beside the module that uses it (and so beside the bundles), never bundled:
// its `import()` must stay one (src/nix/esm-import.cjs). tsc does not copy it into dist/src either.
for (const dir of [fresh, src('nix')]) copyFileSync(join(root, 'src', 'nix', 'esm-import.cjs'), join(dir, 'esm-import.cjs'));
// The schemas' validators, generated by the prebuild (scripts/gen-schema-validators.mjs), are loaded the same way.
for (const dir of [fresh, src('declarations')]) copyFileSync(join(root, 'src', 'declarations', 'schema-validators.cjs'), join(dir, 'schema-validators.cjs'));
for (const name of ['flotilla-cli', ...OWN_BUNDLES.map((v) => `flotilla-${v}`), 'tick-worker-body']) makeCodeCache(fresh, name);
// The shebang comes from src/cli/bin-entry.ts; npm makes bin targets executable on install, the build does too.
chmodSync(join(fresh, 'flotilla.js'), 0o755);
// The package's `bin`: a shell launcher that runs flotilla.js with NODE_EXTRA_CA_CERTS deferred (src/cli/flotilla-launcher.sh).
copyFileSync(join(root, 'src', 'cli', 'flotilla-launcher.sh'), join(fresh, 'flotilla'));
chmodSync(join(fresh, 'flotilla'), 0o755);
if (existsSync(out)) renameSync(out, old);
renameSync(fresh, out);
rmSync(old, { recursive: true, force: true });
// Loading every verb for the help table may leave a handle open (a logger's stream): the build is done.
process.exit(0);
