import { resolve } from 'node:path';
import { loadCommitSigner } from '../bump/commit-signer.js';
import { bumpSets, type BumpResult } from '../bump/bump-sets.js';
import { UsageError } from '../errors/index.js';
import { displayClosure } from '../store/closure-ref.js';
import { flag, stringList, stringOption, type Command } from './command.js';
import { closureArg } from './digest-arg.js';

/** Text for a bump or revert result. */
export function describeBump(r: BumpResult, verb: string): string {
  const lines = r.changes.map((c) => `${c.set}: ${displayClosure(c.from)} -> ${displayClosure(c.to)} (${c.file})`);
  for (const s of r.unchanged) lines.push(`${s}: already on the digest, unchanged`);
  if (r.changes.length > 0) lines.push(`packages: ${r.packages.join(', ')}; signed by ${r.signers.join(', ') || '(policy checked)'}`);
  if (r.commit) lines.push(`${verb}: committed ${r.commit.slice(0, 12)} on ${r.ref.replace(/^refs\/heads\//, '')}`);
  else if (r.changes.length > 0) lines.push(`${verb}: files edited, not committed`);
  else lines.push(`${verb}: nothing to change`);
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}

/** `flotilla bump SET DIGEST`: a signed commit pointing a set at a new closure, checked before it is written. */
export const command: Command = {
  name: 'bump',
  summary: 'point a set at a new closure: a signed commit, checked against the store and policy first',
  usage: 'flotilla bump SET DIGEST|/nix/store/PATH | --where-digest OLD DIGEST [--repo DIR] [--sign-key FILE | --gpg-key FILE] [--allow-untrusted-signer] [--branch NAME] [--no-commit]',
  description: `Edits only the closure line of sets/SET.yaml (comments and formatting stay byte for byte), checks the
result (schemas, rules), checks the digest exists in the store (--store, default the repo's stores) and
satisfies the repo's publisher policy (signatures, deployable flag) and that allowed_signers at the base
commit accepts the SSH signing key (as agents judge it), then commits it signed in-process.
A refused digest or signer writes nothing. --where-digest OLD bumps every set currently on OLD.
A Nix store path (/nix/store/HASH-NAME) is checked in the repo's Nix caches instead: every path of its
closure must be there and signed by flotilla.yaml's nix.trustedKeys.`,
  positionals: { min: 1, max: 2 },
  options: {
    repo: { type: 'string', value: 'DIR', help: 'deploy repo work tree (default: the current directory)' },
    message: { type: 'string', value: 'M', help: 'commit subject (the body always lists the changes)' },
    'sign-key': { type: 'string', value: 'FILE', help: 'OpenSSH private key (unencrypted) to sign the commit' },
    'gpg-key': { type: 'string', value: 'FILE', help: 'armored OpenPGP secret key to sign the commit' },
    'allow-untrusted-signer': { type: 'boolean', help: "commit even if the base commit's allowed_signers does not accept the signing key (agents will refuse it)" },
    branch: { type: 'string', value: 'NAME', help: 'commit on this branch (created from HEAD when missing)' },
    'no-commit': { type: 'boolean', help: 'only edit the files' },
    store: { type: 'string', multiple: true, value: 'URL', help: "store(s) to check the digest in (default: the repo's)" },
    'where-digest': { type: 'string', value: 'DIGEST', help: 'bump every set currently on this digest' },
  },
  async run(input, ctx) {
    const where = stringOption(input, 'where-digest');
    const [first, second] = input.positionals;
    if (where !== undefined && second !== undefined) throw new UsageError('bump: with --where-digest give only the new DIGEST');
    if (where === undefined && second === undefined) throw new UsageError('bump: expected SET DIGEST');
    const digest = closureArg(where === undefined ? second : first, 'DIGEST');
    const noCommit = flag(input, 'no-commit');
    const abs = (p: string | undefined): string | undefined => (p === undefined ? undefined : resolve(ctx.cwd, p));
    const signer = noCommit ? undefined : await loadCommitSigner({ sshKeyFile: abs(stringOption(input, 'sign-key')), gpgKeyFile: abs(stringOption(input, 'gpg-key')) });
    const branch = stringOption(input, 'branch');
    const message = stringOption(input, 'message');
    const result = await bumpSets({
      dir: resolve(ctx.cwd, stringOption(input, 'repo') ?? '.'),
      ...(where === undefined ? { sets: [first!] } : { whereDigest: closureArg(where, '--where-digest') }),
      digest,
      ...(branch !== undefined ? { branch } : {}),
      ...(message !== undefined ? { message } : {}),
      noCommit,
      storeUrls: stringList(input, 'store'),
      ...(signer ? { signer } : {}),
      allowUntrustedSigner: flag(input, 'allow-untrusted-signer'),
      env: ctx.env,
      cwd: ctx.cwd,
    });
    return { exitCode: 0, text: describeBump(result, 'bump'), json: { ok: true, ...result } };
  },
};
