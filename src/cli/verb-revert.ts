import { resolve } from 'node:path';
import { bumpSets } from '../bump/bump-sets.js';
import { loadCommitSigner } from '../bump/commit-signer.js';
import { closureHistory, pickLastReady } from '../bump/last-ready.js';
import { openStoresFor } from '../bump/repo-policy.js';
import { openBumpTarget } from '../bump/target-repo.js';
import { NotFoundError, PreconditionFailedError } from '../errors/index.js';
import { closeAll } from '../packages/cli-args.js';
import { readQuarantine } from '../rollout/quarantine.js';
import type { QuarantineRecord } from '../rollout/quarantine-record.js';
import { membersOf } from '../rollout/set-plan.js';
import { DEFAULT_STALE_AFTER_MS } from '../status/readiness.js';
import { readSetStatuses } from '../status/status-io.js';
import { displayClosure, type ClosureRef } from '../store/closure-ref.js';
import { describeBump } from './verb-bump.js';
import { flag, stringList, stringOption, type Command } from './command.js';
import { closureArg } from './digest-arg.js';

/** Finds the digest to go back to: the newest earlier closure every member machine runs healthily. */
async function findRevertTarget(dir: string, set: string, storeUrls: string[], cwd: string): Promise<{ digest: ClosureRef; machines: number }> {
  const target = await openBumpTarget(dir, undefined);
  const decl = target.decls.sets.get(set);
  if (!decl) throw new NotFoundError(`set ${set} is not declared`, { set });
  const members = membersOf(target.decls, decl);
  const stores = openStoresFor(storeUrls, target.decls.config, cwd);
  try {
    const statuses = await readSetStatuses(stores[0]!, set);
    const history = await closureHistory(target.gitdir, target.base, decl.file);
    const digest = pickLastReady(history, decl.closure, members, statuses, { now: new Date(), staleAfterMs: DEFAULT_STALE_AFTER_MS });
    if (digest === null) {
      throw new PreconditionFailedError(
        `no earlier closure of ${set} (${history.length} in the history of ${decl.file}) is running Ready on all ${members.length} machine(s) by fresh status reports; pick one with --to DIGEST`,
        { set, candidates: history },
      );
    }
    return { digest, machines: members.length };
  } finally {
    await closeAll(stores);
  }
}

/**
 * The quarantine of the set's desired closure at the repo's HEAD, or null when it has none: what
 * `--if-quarantined` asks before reverting. Fails with NotFoundError for an undeclared set, and the store's errors.
 */
async function desiredQuarantine(dir: string, set: string, storeUrls: string[], cwd: string): Promise<{ closure: ClosureRef; record: QuarantineRecord | null }> {
  const target = await openBumpTarget(dir, undefined);
  const decl = target.decls.sets.get(set);
  if (!decl) throw new NotFoundError(`set ${set} is not declared`, { set });
  const stores = openStoresFor(storeUrls, target.decls.config, cwd);
  try {
    return { closure: decl.closure, record: await readQuarantine(stores[0]!, set, decl.closure) };
  } finally {
    await closeAll(stores);
  }
}

/** `flotilla revert SET`: a signed commit putting the set back on the last closure Ready on every machine. */
export const command: Command = {
  name: 'revert',
  summary: 'a signed commit setting a set back to the last digest Ready on all its machines',
  usage: 'flotilla revert SET [--to DIGEST] [--if-quarantined] [--repo DIR] [--store URL] [--sign-key FILE | --gpg-key FILE] [--allow-untrusted-signer]',
  description: `Walks the history of sets/SET.yaml (newest first, along first parents) and picks the newest earlier
closure that every machine of the set reports running healthily in the store's status (Ready, or RolledBack
onto it), or the digest given with --to. Then commits that change signed, like bump (same checks: schema,
rules, the closure exists and satisfies the publisher policy, the signing key is accepted by allowed_signers
at the base commit), so git stays the source of truth after a
failed rollout and the fleet does not fight a manual rollback.

With --if-quarantined it reverts only when the set's desired closure has a quarantine record in the store
(a machine failed on it and rolled back), and otherwise exits 0 saying so, committing nothing: what the
deploy repo's scheduled CI job runs (ci/*: auto-revert), so git says again what the fleet runs. The CI job
holds the signing key; no agent ever does.`,
  positionals: { min: 1, max: 1 },
  options: {
    to: { type: 'string', value: 'CLOSURE', help: 'revert to this digest or Nix store path instead of the last one Ready everywhere' },
    'if-quarantined': { type: 'boolean', help: "only when the set's desired closure is quarantined in the store; otherwise do nothing and exit 0" },
    repo: { type: 'string', value: 'DIR', help: 'deploy repo work tree (default: the current directory)' },
    store: { type: 'string', multiple: true, value: 'URL', help: "store(s) with the status files and closures (default: the repo's)" },
    'sign-key': { type: 'string', value: 'FILE', help: 'OpenSSH private key (unencrypted) to sign the commit' },
    'gpg-key': { type: 'string', value: 'FILE', help: 'armored OpenPGP secret key to sign the commit' },
    'allow-untrusted-signer': { type: 'boolean', help: "commit even if the base commit's allowed_signers does not accept the signing key (agents will refuse it)" },
    message: { type: 'string', value: 'M', help: 'commit subject' },
  },
  async run(input, ctx) {
    const set = input.positionals[0]!;
    const dir = resolve(ctx.cwd, stringOption(input, 'repo') ?? '.');
    const abs = (p: string | undefined): string | undefined => (p === undefined ? undefined : resolve(ctx.cwd, p));
    const signer = await loadCommitSigner({ sshKeyFile: abs(stringOption(input, 'sign-key')), gpgKeyFile: abs(stringOption(input, 'gpg-key')) });
    const storeUrls = stringList(input, 'store');
    let quarantined: QuarantineRecord | undefined;
    if (flag(input, 'if-quarantined')) {
      const q = await desiredQuarantine(dir, set, storeUrls, ctx.cwd);
      if (q.record === null) {
        const text = `${set}: its desired closure ${displayClosure(q.closure)} is not quarantined; nothing to revert`;
        return { exitCode: 0, text, json: { reverted: false, set, desired: q.closure, reason: 'not quarantined' } };
      }
      quarantined = q.record;
    }
    const to = stringOption(input, 'to');
    const found = to !== undefined ? { digest: closureArg(to, '--to'), machines: -1 } : await findRevertTarget(dir, set, storeUrls, ctx.cwd);
    const chosen = found.machines >= 0 ? `last closure Ready on all ${found.machines} machine(s)` : 'chosen with --to';
    const why = quarantined === undefined ? chosen : `${chosen}; ${displayClosure(quarantined.digest)} quarantined after failing on ${quarantined.failures.map((f) => f.machine).join(', ')}`;
    const result = await bumpSets({
      dir, sets: [set], digest: found.digest, noCommit: false, storeUrls, signer, allowUntrustedSigner: flag(input, 'allow-untrusted-signer'), env: ctx.env, cwd: ctx.cwd, verb: 'revert',
      message: stringOption(input, 'message') ?? `revert ${set} to ${displayClosure(found.digest)} (${why})`,
    });
    return { exitCode: 0, text: `${describeBump(result, 'revert')}\nreason: ${why}`, json: { ok: true, ...(quarantined === undefined ? {} : { reverted: true, quarantine: quarantined }), reason: why, ...result } };
  },
};
