import { resolve } from 'node:path';
import { FlotillaError, UsageError } from '../errors/index.js';
import { formatIssue, type DeclarationIssue } from '../declarations/index.js';
import { readDeclarationDir } from '../declarations/read-dir.js';
import { loadDeclarationFiles, openDeployRepo, readDeclarationsAt, verifyAt, type DeclarationsRead } from '../deploy-repo/index.js';
import { trustPolicyFor } from './trust-file-option.js';
import { flag, stringOption, type Command } from './command.js';

/** The outcome of the signature check, as printed and as JSON. */
type SignatureReport =
  | { ok: true; signer: string; fingerprint: string; format: string; trust: string }
  | { ok: false; code: string; message: string; trust: string };

async function checkSignature(gitdir: string, oid: string, trustFile: string | undefined, read: DeclarationsRead): Promise<SignatureReport> {
  let source = trustFile ?? 'allowed_signers';
  try {
    const t = await trustPolicyFor(trustFile, read, oid);
    source = t.source;
    const v = await verifyAt(gitdir, oid, t.policy);
    if (!v.ok) return { ok: false, code: v.error.code, message: v.error.message, trust: source };
    return { ok: true, signer: v.signer, fingerprint: v.fingerprint, format: v.format, trust: source };
  } catch (err) {
    if (!(err instanceof FlotillaError)) throw err;
    return { ok: false, code: err.code, message: err.message, trust: source };
  }
}

/** A repo past its signed `expires` is valid but useless: agents report it Stale and change nothing. */
function expiryIssues(expires: Date | undefined, now: number): DeclarationIssue[] {
  if (expires === undefined || expires.getTime() > now) return [];
  const message = `expired at ${expires.toISOString()}: agents report the repo Stale and change nothing until a commit sets a later expires`;
  return [{ file: 'flotilla.yaml', pointer: '/expires', message, rule: 'expired' }];
}

/** `flotilla validate`: schemas, rules and (for a git repo) the commit's signature; exit 1 listing every error. */
export const command: Command = {
  name: 'validate',
  summary: 'check a deploy repo: schemas, rules, and the commit signature',
  usage: 'flotilla validate [--repo DIR|URL] [--rev REV] [--trust-file F] | --dir DIR',
  description: `Loads the declarations at REV (a branch, tag or commit id, then any ~N or ^N; default HEAD; for a URL, REV
names a branch of the server, default main) as git objects,
checks every file against its schema and the semantic rules, and verifies the commit's signature against
--trust-file (allowed_signers or an armored OpenPGP key), or else the repo's own allowed_signers at REV.
--dir checks a plain directory (no git, no signature): for editors and pre-commit hooks.
Exit 0 when all is well, 1 listing every error as file:line:col /pointer message.`,
  options: {
    repo: { type: 'string', value: 'DIR|URL', help: 'deploy repo: a local path or an http(s) URL (default: the current directory)' },
    rev: { type: 'string', value: 'REV', help: 'commit, branch or tag, then any ~N or ^N, to check (default HEAD)' },
    'trust-file': { type: 'string', value: 'FILE', help: 'pinned signers: allowed_signers or an armored OpenPGP key' },
    dir: { type: 'string', value: 'DIR', help: 'check a plain directory instead (no git, no signature)' },
    'skip-signature': { type: 'boolean', help: 'check declarations only' },
  },
  async run(input, ctx) {
    const dir = stringOption(input, 'dir');
    const repo = stringOption(input, 'repo');
    if (dir !== undefined && (repo !== undefined || stringOption(input, 'rev') !== undefined)) throw new UsageError('validate: --dir cannot be combined with --repo or --rev');
    let read: DeclarationsRead;
    let dirIssues: DeclarationIssue[] = [];
    let signature: SignatureReport | undefined;
    let where: Record<string, string>;
    if (dir !== undefined) {
      const path = resolve(ctx.cwd, dir);
      const dirRead = await readDeclarationDir(path);
      read = loadDeclarationFiles(dirRead.files);
      dirIssues = dirRead.issues;
      where = { dir: path };
    } else {
      const src = await openDeployRepo({ repo: repo ?? '.', cwd: ctx.cwd, env: ctx.env, signal: ctx.signal });
      try {
        const oid = await src.resolve(stringOption(input, 'rev'));
        read = await readDeclarationsAt(src.gitdir, oid);
        if (!flag(input, 'skip-signature')) {
          const trustOpt = stringOption(input, 'trust-file');
          signature = await checkSignature(src.gitdir, oid, trustOpt === undefined ? undefined : resolve(ctx.cwd, trustOpt), read);
        }
        where = { repo: repo ?? '.', commit: oid };
      } finally {
        await src.close();
      }
    }
    const decls = read.decls;
    const errors = [...dirIssues, ...read.issues, ...(decls ? expiryIssues(decls.config.expires, Date.now()) : [])];
    const ok = errors.length === 0 && (signature === undefined || signature.ok);
    const lines = errors.map(formatIssue);
    if (signature) {
      lines.push(signature.ok ? `signature: ok, ${signature.format} by ${signature.signer} (${signature.fingerprint}), trusted via ${signature.trust}` : `signature: ${signature.code}: ${signature.message} (trust: ${signature.trust})`);
    }
    const at = where['commit'] ? ` at ${where['commit'].slice(0, 12)}` : '';
    lines.push(ok && decls ? `valid${at}: ${decls.sets.size} set(s), ${decls.machines.size} machine(s)` : `invalid${at}: ${errors.length} error(s)${signature && !signature.ok ? ' and an untrusted signature' : ''}`);
    return {
      exitCode: ok ? 0 : 1,
      text: lines.join('\n'),
      json: { ok, ...where, errors, ...(signature ? { signature } : {}), sets: decls ? [...decls.sets.keys()] : [] },
    };
  },
};
