import * as fs from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import git from 'isomorphic-git';
import { loadDeclarationFiles, requireDeclarations } from '../deploy-repo/index.js';
import { NotFoundError, PreconditionFailedError, QuarantinedError, UsageError } from '../errors/index.js';
import { closeAll } from '../packages/cli-args.js';
import { readQuarantine } from '../rollout/quarantine.js';
import { displayClosure, type ClosureRef } from '../store/closure-ref.js';
import type { Store } from '../store/store.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { CommitSigner } from './commit-signer.js';
import { replaceClosureDigest } from './edit-closure.js';
import { resolveIdentity } from './identity.js';
import { checkClosure } from './check-closure.js';
import { openStoresFor, storeUrlsFor } from './repo-policy.js';
import { checkSignerAtBase } from './signer-trust.js';
import { openBumpTarget, type BumpTarget } from './target-repo.js';
import { writeSignedCommit, writeTreeWith } from './write-commit.js';

/** What to bump: one set by name, or every set currently on `whereDigest`. */
export interface BumpRequest {
  dir: string;
  sets?: string[];
  whereDigest?: ClosureRef;
  digest: ClosureRef;
  branch?: string;
  message?: string;
  /** Only edit the work-tree files; no commit (no signer needed). */
  noCommit: boolean;
  /** Store URLs to verify the digest in; default the repo's own stores. */
  storeUrls: string[];
  signer?: CommitSigner;
  /** Commit even when allowed_signers at the base does not accept the signer (a warning instead). */
  allowUntrustedSigner?: boolean;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Verb name for messages and the default subject (`bump`, `revert`). */
  verb?: string;
  now?: number;
}

/** One set's change. */
export interface SetChange {
  set: string;
  file: string;
  from: ClosureRef;
  to: ClosureRef;
}

/** The outcome: the commit (absent with --no-commit or when nothing changed) and what it changed. */
export interface BumpResult {
  commit?: string;
  ref: string;
  changes: SetChange[];
  /** Sets that were already on the digest. */
  unchanged: string[];
  packages: string[];
  signers: string[];
  message?: string;
  /** What was not checked or was allowed anyway (the signer against allowed_signers). */
  warnings: string[];
}

function selectSets(target: BumpTarget, req: BumpRequest): string[] {
  if (req.whereDigest !== undefined) {
    const names = [...target.decls.sets.values()].filter((s) => s.closure === req.whereDigest).map((s) => s.name);
    if (names.length === 0) throw new NotFoundError(`no set is on ${req.whereDigest}`, { digest: req.whereDigest });
    return names;
  }
  const names = req.sets ?? [];
  if (names.length === 0) throw new UsageError('name a set, or give --where-digest DIGEST');
  for (const n of names) {
    if (!target.decls.sets.has(n)) throw new NotFoundError(`set ${n} is not declared (sets: ${[...target.decls.sets.keys()].join(', ') || 'none'})`, { set: n });
  }
  return names;
}

async function currentText(target: BumpTarget, file: string, fromWorkTree: boolean): Promise<string> {
  const committed = Buffer.from(target.files.get(file) ?? new Uint8Array()).toString('utf8');
  if (!target.workTree || (!fromWorkTree && !target.checkedOut)) return committed;
  const onDisk = await readFile(join(target.workTree, file), 'utf8').catch(() => committed);
  if (!fromWorkTree && onDisk !== committed) {
    throw new PreconditionFailedError(`${file} has uncommitted changes; commit or discard them first (or use --no-commit)`, { file });
  }
  return onDisk;
}

/** Agents stop on a quarantined digest, so pointing a set at one only stalls it: refuse with the way out. */
async function refuseQuarantined(stores: Store[], sets: string[], digest: ClosureRef): Promise<void> {
  for (const set of sets) {
    for (const store of stores) {
      const q = await readQuarantine(store, set, digest);
      if (q) {
        const machines = q.failures.map((f) => f.machine).join(', ');
        throw new QuarantinedError(`${digest} is quarantined in set ${set} (failed on ${machines}); fix it and run flotilla unquarantine ${set} ${digest} first`, { set, digest, machines });
      }
    }
  }
}

function messageFor(req: BumpRequest, changes: SetChange[], packages: string[]): string {
  const verb = req.verb ?? 'bump';
  const subject = req.message ?? `${verb} ${changes.map((c) => c.set).join(', ')} to ${displayClosure(req.digest)} (${packages.join(', ')})`;
  const body = [...changes.map((c) => `${c.set}: ${c.from} -> ${c.to}`), `packages: ${packages.join(', ')}`];
  return `${subject}\n\n${body.join('\n')}\n`;
}

/**
 * Points the chosen sets at `digest`: edits only the closure line of each sets/NAME.yaml, checks the result
 * (schema and rules), checks the digest exists in the store and satisfies the repo's publisher policy, then
 * commits the change signed on the branch (or only edits the files with noCommit). Any refusal happens
 * before anything is written. Throws NotFoundError (set or digest), DeclarationError, SignatureError or
 * PolicyError (digest refused), QuarantinedError (the digest is quarantined in a changed set), PreconditionFailedError (uncommitted edits), UsageError, KeyError
 * (also: the signer is not accepted by allowed_signers at the base, unless allowUntrustedSigner).
 */
export async function bumpSets(req: BumpRequest): Promise<BumpResult> {
  const target = await openBumpTarget(req.dir, req.branch);
  if (req.noCommit && !target.checkedOut) throw new UsageError('--no-commit edits the work tree, so it needs the checked-out branch (drop --branch, or check it out first)');
  const names = selectSets(target, req);
  // The signer is judged first: a commit every agent refuses must not be written.
  const warnings = req.noCommit || !req.signer ? [] : await checkSignerAtBase({
    signer: req.signer, allowedSigners: target.decls.allowedSigners, base: target.base, now: req.now ?? Date.now(), allowUntrusted: req.allowUntrustedSigner === true,
  });
  const changes: SetChange[] = [];
  const unchanged: string[] = [];
  const edited = new Map(target.files);
  for (const name of names) {
    const decl = target.decls.sets.get(name)!;
    if (decl.closure === req.digest) {
      unchanged.push(name);
      continue;
    }
    const text = await currentText(target, decl.file, req.noCommit);
    edited.set(decl.file, Buffer.from(replaceClosureDigest(text, req.digest, decl.file), 'utf8'));
    changes.push({ set: name, file: decl.file, from: decl.closure, to: req.digest });
  }
  const decls = requireDeclarations(loadDeclarationFiles(edited), { what: 'after the edit, the declarations are' });
  const stores = openStoresFor(req.storeUrls, decls.config, req.cwd);
  let packages: string[];
  let signers: string[];
  try {
    ({ packages, signers } = await checkClosure(req.digest, decls.config, stores, storeUrlsFor(req.storeUrls, decls.config)));
    await refuseQuarantined(stores, changes.map((c) => c.set), req.digest);
  } finally {
    await closeAll(stores);
  }
  const result: BumpResult = { ref: target.ref, changes, unchanged, packages, signers, warnings };
  if (changes.length === 0) return result;
  if (req.noCommit) {
    // checkedOut (checked above) implies a work tree.
    for (const c of changes) await writeFileAtomic(join(target.workTree!, c.file), edited.get(c.file)!);
    return result;
  }
  if (!req.signer) throw new UsageError('a signing key is required to commit (--sign-key or --gpg-key), or pass --no-commit');
  const message = messageFor(req, changes, packages);
  const tree = await writeTreeWith(target.gitdir, target.base, new Map(changes.map((c) => [c.file, edited.get(c.file)!])));
  const identity = await resolveIdentity(target.gitdir, req.env);
  const commit = await writeSignedCommit({ gitdir: target.gitdir, ref: target.ref, parent: target.base, tree, message, identity, signer: req.signer, ...(req.now !== undefined ? { now: req.now } : {}) });
  if (target.checkedOut && target.workTree) {
    // The branch moved under the work tree: its files and index follow, so `git status` stays clean.
    for (const c of changes) {
      await writeFileAtomic(join(target.workTree, c.file), edited.get(c.file)!);
      await git.add({ fs, dir: target.workTree, gitdir: target.gitdir, filepath: c.file });
    }
  }
  return { ...result, commit, message };
}
