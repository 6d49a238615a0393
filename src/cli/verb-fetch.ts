import { resolve } from 'node:path';
import type { Command } from './command.js';
import { POLICY_OPTIONS, policyFromInput } from './policy-options.js';
import { flag, stringList, stringOption } from './command.js';
import { concurrencyOption } from './concurrency-option.js';
import { closeAll, openStoreList, requireOption } from '../packages/cli-args.js';
import { presentClosure } from '../fetch/present-closure.js';
import { fromStateDirError } from '../errors/system-error.js';
import { isDigest } from '../store/digest.js';
import { closureArg } from './digest-arg.js';

/** `flotilla fetch DIGEST --store URL[,URL…] --trust … --state DIR`: prints the package paths. */
export const command: Command = {
  name: 'fetch',
  summary: 'fetch and verify a closure into a state dir and materialise it read-only',
  usage: 'flotilla fetch DIGEST|/nix/store/HASH-NAME --store URL[,URL…] --trust NAME:KEY... (--state DIR | --root DIR) [--threshold N] [--require-deployable] [--concurrency N] [--repair] [--register auto|never] [--json]',
  description: `Stores are mirrors tried in order for every object. Packages land at DIR/store/<hex>-<name>/.
Packages already there are reused as they are; --repair first re-hashes the closure's packages and cached
objects (as \`flotilla fsck\` does) and removes the damaged ones, which the fetch then places again.
A Nix store path is fetched as the agent does: from the Nix binary caches among --store (nix+file://,
nix+https://, nix+s3://), every narinfo signed by --threshold of the --trust Nix keys (NAME:BASE64), the
paths ROOT/nix/store lacks unpacked under temp names and renamed only once every NAR verified, then (with
--register auto and nix-store on PATH) registered with the Nix at ROOT. ROOT is --root, else the root the
Nix generations of --state use; with --repair, the closure's paths already under ROOT are first re-hashed
against their signed NarHash and the damaged ones fetched again. Prints the placed paths.`,
  positionals: { min: 1, max: 1 },
  options: {
    ...POLICY_OPTIONS,
    store: { type: 'string', multiple: true, value: 'URL[,URL…]', help: 'store URL(s), in order' },
    state: { type: 'string', value: 'DIR', help: 'state directory (object cache and store/)' },
    concurrency: { type: 'string', value: 'N', help: 'parallel object downloads (default 16; for a Nix store path, NARs at once, default 4 large and 16 small)' },
    root: { type: 'string', value: 'DIR', help: 'Nix paths: unpack into DIR/nix/store (/ for the host store)' },
    register: { type: 'string', value: 'auto|never', help: 'Nix paths: register them with the Nix at ROOT when it is installed (default auto)' },
    repair: { type: 'boolean', help: 're-verify what is already in DIR and replace what is damaged (see flotilla fsck)' },
  },
  async run(input, ctx) {
    const ref = closureArg(input.positionals[0], 'DIGEST');
    // The Nix path (NAR parser, decompressors, nix-store registration) loads only for a Nix store path.
    if (!isDigest(ref)) return (await import('./nix-fetch.js')).fetchNixPath(ref, input, ctx);
    const policy = policyFromInput(input, ctx);
    const stateDir = resolve(ctx.cwd, requireOption(stringOption(input, 'state'), 'state'));
    const concurrency = concurrencyOption(input);
    const stores = openStoreList(stringList(input, 'store'), ctx);
    try {
      const digest = ref;
      const repair = flag(input, 'repair');
      // A closure already in place is answered from the state dir (no request, no object-fetching code
      // loaded); anything else, and --repair, which re-hashes what is there, takes the whole fetch.
      const present = repair ? undefined : await presentClosure({ digest, policy, stateDir });
      if (present) return { exitCode: 0, text: present.packages.map((p) => p.path).join('\n'), json: present };
      // Loaded only now, as the object path is: a no-op needs neither, nor young-generation.ts's node:v8.
      const [{ fetchClosure }, { removeDamagedOfClosure }, { createProgressBar }, { collectGarbageEvery, FETCH_GC_BYTES, keepYoungGenerationSmall }, { tierUpLater }] = await Promise.all([
        import('../fetch/fetch-closure.js'),
        import('../fetch/repair-closure.js'),
        import('../fetch/progress-bar.js'),
        import('./young-generation.js'),
        import('../util/tier-up.js'),
      ]);
      keepYoungGenerationSmall(stores.some((s) => s.url.startsWith('https:')) ? ['node:https'] : []);
      tierUpLater();
      // Full collections pay only for a network client's per-read buffers (see collectGarbageEvery), not
      // for bytes read into a store's own reused buffer (packs over plain HTTP).
      const collect = stores[0]?.localPath === undefined ? collectGarbageEvery(FETCH_GC_BYTES) : undefined;
      const bar = ctx.interactive && !ctx.json ? createProgressBar(ctx.stderr) : undefined;
      const repaired = repair ? await removeDamagedOfClosure({ stores, digest, policy, stateDir, signal: ctx.signal }) : [];
      for (const d of repaired) ctx.stderr.write(`repairing ${d.path}: ${d.problem}\n`);
      const r = await fetchClosure({
        stores,
        digest,
        policy,
        stateDir,
        signal: ctx.signal,
        ...(concurrency ? { concurrency } : {}),
        onProgress: (p) => {
          collect?.(p.bytesDone - p.bytesOwnBuffer);
          bar?.(p);
        },
      });
      return { exitCode: 0, text: r.packages.map((p) => p.path).join('\n'), json: repair ? { ...r, repaired } : r };
    } catch (err) {
      throw fromStateDirError(err, stateDir);
    } finally {
      await closeAll(stores);
    }
  },
};
