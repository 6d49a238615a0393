import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { ConfigError, UsageError } from '../errors/index.js';
import type { Declarations } from '../declarations/types.js';
import { openDeployRepo, readDeclarationsAt, requireDeclarations, verifyAt } from '../deploy-repo/index.js';
import { isAncestor } from '../git/is-ancestor.js';
import { closeAll, openStoreArg, requireOption } from '../packages/cli-args.js';
import { advanceHeadPointer } from '../publish/advance-head-pointer.js';
import { MAX_HEAD_POINTER_BYTES, parseHeadPointer } from '../store/head-pointer.js';
import { headPointerKey } from '../store/keys.js';
import { canCoordinate, type Store } from '../store/store.js';
import { flag, stringOption, type Command, type CommandContext, type CommandInput, type CommandResult } from './command.js';
import { trustPolicyFor } from './trust-file-option.js';

/** The pointer's store: --store, else flotilla.yaml's headPointer.store, else the first store that can coordinate. */
function pointerStore(explicit: string | undefined, decls: Declarations, ctx: CommandContext): Store {
  const url = explicit ?? decls.config.headPointer.store;
  if (url !== undefined) return openStoreArg(url, ctx, true);
  for (const u of decls.config.stores) {
    const s = openStoreArg(u, ctx, true);
    if (canCoordinate(s)) return s;
    void s.close();
  }
  throw new ConfigError('none of flotilla.yaml\'s stores can hold the head pointer (it needs conditional writes: a directory or S3 store); set headPointer.store or pass --store', { stores: decls.config.stores });
}

async function publish(input: CommandInput, ctx: CommandContext): Promise<CommandResult> {
  const branch = stringOption(input, 'branch') ?? 'main';
  const src = await openDeployRepo({ repo: stringOption(input, 'repo') ?? '.', cwd: ctx.cwd, env: ctx.env, signal: ctx.signal });
  try {
    const commit = await src.resolve(stringOption(input, 'rev') ?? branch);
    const read = await readDeclarationsAt(src.gitdir, commit);
    const decls = requireDeclarations({ ...read, oid: commit }, { what: `the declarations at ${commit.slice(0, 12)} are` });
    const trustFile = stringOption(input, 'trust-file');
    const trust = await trustPolicyFor(trustFile === undefined ? undefined : resolve(ctx.cwd, trustFile), read, commit);
    const verdict = await verifyAt(src.gitdir, commit, trust.policy);
    if (!verdict.ok) throw verdict.error;
    const explicit = stringOption(input, 'store');
    if (!decls.config.headPointer.enabled && explicit === undefined) {
      const text = `headPointer is off in flotilla.yaml at ${commit.slice(0, 12)}: nothing written (agents ask git at every poll)`;
      return { exitCode: 0, text, json: { outcome: 'disabled', branch, commit } };
    }
    const store = pointerStore(explicit, decls, ctx);
    try {
      const r = await advanceHeadPointer({
        store, branch, commit,
        writer: stringOption(input, 'writer') ?? `flotilla head publish on ${hostname()}`,
        descends: (earlier, later) => isAncestor(src.gitdir, earlier, later),
        force: flag(input, 'force'),
      });
      const what = r.outcome === 'written' ? `written (was ${r.previous ?? 'absent'})` : r.outcome === 'unchanged' ? 'unchanged: it already names this commit' : `left alone: it names ${r.current}, which descends from this commit`;
      const text = `${r.key} in ${store.url} → ${commit} (signed by ${verdict.signer}, trusted via ${trust.source}): ${what}`;
      return { exitCode: 0, text, json: { ...r, branch, commit, store: store.url, signer: verdict.signer } };
    } finally {
      await closeAll([store]);
    }
  } finally {
    await src.close();
  }
}

async function show(input: CommandInput, ctx: CommandContext): Promise<CommandResult> {
  const branch = stringOption(input, 'branch') ?? 'main';
  const store = openStoreArg(requireOption(stringOption(input, 'store'), 'store'), ctx);
  try {
    const key = headPointerKey(branch);
    const bytes = await store.getBytes(key, { maxBytes: MAX_HEAD_POINTER_BYTES });
    const p = parseHeadPointer(bytes, branch);
    return { exitCode: 0, text: `${key} in ${store.url}: ${p.commit} (written ${p.writtenAt} by ${p.writer})`, json: { key, store: store.url, ...p } };
  } finally {
    await closeAll([store]);
  }
}

/** `flotilla head publish|show`: the head pointer agents poll instead of asking git. */
export const command: Command = {
  name: 'head',
  summary: 'publish or show the head pointer agents poll instead of git (heads/BRANCH.json in a store)',
  usage: 'flotilla head publish [--repo DIR|URL] [--branch B] [--rev REV] [--store URL] [--trust-file F] [--writer NAME] [--force] | head show --store URL [--branch B] [--json]',
  description: `publish: reads the branch head (or --rev) from the deploy repo, verifies its signature against
--trust-file (allowed_signers or an armored OpenPGP key; else the repo's own allowed_signers at that commit),
then points heads/BRANCH.json at it with a conditional write, only forward: a pointer naming an ancestor is
replaced, one naming the commit or a descendant is left alone, one naming anything else is refused unless
--force. The store is --store, else flotilla.yaml's headPointer.store, else the first of its stores that can
coordinate. When flotilla.yaml does not enable headPointer (and no --store is given) nothing is written and
the exit is 0, so the CI step can run before a repo opts in. Run it in CI after every push to the branch.
show: prints the pointer. The pointer is a hint only: agents still fetch and verify every commit from git.`,
  positionals: { min: 1, max: 1 },
  options: {
    repo: { type: 'string', value: 'DIR|URL', help: 'deploy repo: a local path or an http(s) URL (default: the current directory)' },
    branch: { type: 'string', value: 'B', help: 'the branch agents follow (default main)' },
    rev: { type: 'string', value: 'REV', help: 'publish this revision instead of the branch head (e.g. HEAD in a CI checkout)' },
    store: { type: 'string', value: 'URL', help: 'the store holding the pointer (default: see above)' },
    'trust-file': { type: 'string', value: 'FILE', help: 'pinned signers: allowed_signers or an armored OpenPGP key' },
    writer: { type: 'string', value: 'NAME', help: 'who writes, recorded in the pointer (default: this host)' },
    force: { type: 'boolean', help: 'replace a pointer that names a commit this one does not descend from' },
  },
  async run(input, ctx) {
    const sub = input.positionals[0];
    if (sub === 'publish') return publish(input, ctx);
    if (sub === 'show') return show(input, ctx);
    throw new UsageError(`head: expected publish or show, got ${JSON.stringify(sub)}`);
  },
};
