import { resolve } from 'node:path';
import { UsageError } from '../errors/index.js';
import { fetchNixClosure } from '../fetch/nix-closure.js';
import { registerIfNix } from '../fetch/nix-register.js';
import { nixRootsOf } from '../generations/index.js';
import type { NixStorePath } from '../store/closure-ref.js';
import { flag, stringOption, type CommandContext, type CommandInput, type CommandResult } from './command.js';
import { concurrencyOption } from './concurrency-option.js';
import { nixCacheArgs, nixTrustArgs } from './nix-args.js';

/** --root, else the one root the state dir's Nix generations use (as its agent's config placed them). */
async function rootOf(input: CommandInput, ctx: CommandContext, top: string): Promise<string> {
  const root = stringOption(input, 'root');
  if (root !== undefined) return resolve(ctx.cwd, root);
  const state = stringOption(input, 'state');
  const roots = state === undefined ? [] : await nixRootsOf(resolve(ctx.cwd, state));
  if (roots.length === 1) return roots[0]!;
  const why = state === undefined ? 'no --root or --state was given' : roots.length === 0 ? `state dir ${state} has no Nix generation to take its root from` : `state dir ${state} uses ${roots.length} roots (${roots.join(', ')})`;
  throw new UsageError(`fetching ${top} needs --root DIR (paths go to DIR/nix/store; / for the host's store): ${why}`, { storePath: top });
}

/**
 * Node's built-in modules a Nix fetch that downloads may load after its own: the page-cache judge's clock
 * (nar-unpack.ts), the flush's shell, the small-file thread, and the cluster module a decompressor's
 * socket loads on its first listen (tool-reader.ts).
 */
const NIX_DOWNLOAD_BUILTINS = ['node:perf_hooks', 'node:child_process', 'node:worker_threads', 'node:cluster'] as const;

/**
 * Once the root lacks a path: V8 optimises the fetch's functions later (util/tier-up.ts), as for a
 * downloading fetch of packages: in paired rounds on a tmpfs root, a cold fetch of the benchmark's closure
 * used ~50 ms less CPU of its ~440 (every round of 16), one path changed ~19 of ~200 (docs/performance.md,
 * session 36). A flag set at run time costs each built-in loaded afterwards Node's code cache of it, so
 * those the download may still need are loaded first. The one-shot no-op never gets here.
 */
async function optimiseLater(): Promise<void> {
  for (const m of NIX_DOWNLOAD_BUILTINS) process.getBuiltinModule(m);
  (await import('../util/tier-up.js')).tierUpLater();
}

/**
 * `flotilla fetch /nix/store/… --store nix+… --trust NAME:KEY --root DIR`: what the agent's fetch step does
 * for a Nix set. Every narinfo is signature-checked before its references are followed, the paths ROOT
 * lacks are fetched, hashed and unpacked under temp names and renamed only once all verified; with
 * --register auto (default) and nix-store on PATH, they are then registered with the Nix at ROOT. With
 * --repair, paths already placed are re-hashed against their signed NarHash first and damaged ones re-fetched.
 */
export async function fetchNixPath(top: NixStorePath, input: CommandInput, ctx: CommandContext): Promise<CommandResult> {
  const register = stringOption(input, 'register') ?? 'auto';
  if (register !== 'auto' && register !== 'never') throw new UsageError(`--register must be auto or never, got ${JSON.stringify(register)}`);
  const trust = nixTrustArgs(input, ctx);
  const urls = nixCacheArgs(input, top);
  const root = await rootOf(input, ctx, top);
  const repair = flag(input, 'repair');
  const concurrency = concurrencyOption(input);
  const f = await fetchNixClosure({ urls, trust, signal: ctx.signal }, top, root, { repair, onDownload: optimiseLater, ...(concurrency ? { concurrency } : {}) });
  for (const d of f.repaired) ctx.stderr.write(`repairing ${d.path}: its NAR hash is ${d.actual}, the signed NarHash is ${d.expected}\n`);
  const registered = register === 'auto' ? (await registerIfNix(root, f.closure, { signal: ctx.signal })).registered : [];
  // Sorted as `nix path-info -r` prints paths: a set of paths, compared across runs and machines by
  // scripts, whatever order the placing took.
  const json = { top, root, fetched: [...f.result.fetched].sort(), present: [...f.result.present].sort(), narBytes: f.result.narBytes, fileBytes: f.result.fileBytes, registered, ...(repair ? { repaired: f.repaired } : {}) };
  const placed = f.closure.map((i) => resolve(root, `.${i.storePath}`));
  return { exitCode: 0, text: placed.join('\n'), json };
}
