import { openDeployRepo, readDeclarationsAt, requireDeclarations } from '../deploy-repo/index.js';
import { InvalidNameError, UsageError } from '../errors/index.js';
import { openStoreArg } from '../packages/cli-args.js';
import { openStore } from '../store/open-store.js';
import { checkName } from '../store/keys.js';
import { canCoordinate, type Store } from '../store/store.js';
import { stringOption, type CommandContext, type CommandInput, type OptionSpec } from './command.js';

/** The options pause and resume share. */
export const PAUSE_TARGET_OPTIONS: Record<string, OptionSpec> = {
  repo: { type: 'string', value: 'DIR|URL', help: 'deploy repo: checks that it declares SET and finds its store (default: the current directory, unless --store is given)' },
  store: { type: 'string', value: 'URL', help: 'the store the agents coordinate through (default: the repo\'s first writable store)' },
};

/**
 * The set and the store a pause or resume acts on. With --repo (or without --store) the repo's HEAD must
 * declare SET (InvalidNameError otherwise) and names the store; with --store only, SET is checked as a name.
 * The caller closes the store.
 */
export async function openPauseTarget(input: CommandInput, ctx: CommandContext, verb: string): Promise<{ set: string; store: Store }> {
  const set = checkName(input.positionals[0] ?? '', 'set name');
  const repoArg = stringOption(input, 'repo');
  let storeUrl = stringOption(input, 'store');
  if (repoArg !== undefined || storeUrl === undefined) {
    const repo = await openDeployRepo({ repo: repoArg ?? '.', cwd: ctx.cwd, env: ctx.env, signal: ctx.signal });
    try {
      const oid = await repo.resolve(undefined);
      const decls = requireDeclarations(await readDeclarationsAt(repo.gitdir, oid), { what: `declarations at ${oid.slice(0, 12)} are` });
      if (!decls.sets.has(set)) throw new InvalidNameError(`the deploy repo declares no set ${JSON.stringify(set)}; it has: ${[...decls.sets.keys()].join(', ') || '(none)'}`, { set });
      storeUrl ??= decls.config.stores.find((u) => canCoordinate(openStore(u, { writable: true }))) ?? decls.config.stores[0];
    } finally {
      await repo.close();
    }
  }
  if (storeUrl === undefined) throw new UsageError(`${verb}: the repo declares no store; give --store URL`);
  return { set, store: openStoreArg(storeUrl, ctx, true) };
}
