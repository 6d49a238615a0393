import * as fs from 'node:fs';
import git from 'isomorphic-git';
import { NotFoundError } from '../errors/index.js';
import { readCommitHeader } from '../git/objects.js';
import { expandShortOid } from './expand-short-oid.js';
import { peelToCommit } from './peel-commit.js';
import { parseRevision, type RevisionStep } from './revision-syntax.js';

/** Turns the name part of a revision into an object id; how depends on where the repo is (local, URL). */
export type NameResolver = (name: string, rev: string) => Promise<string>;

const FULL_OID = /^[0-9a-fA-F]{40}$/;
const SHORT_OID = /^[0-9a-fA-F]{4,39}$/;

/** True when `name` is spelled as a full commit id (40 hex digits). */
export function isFullOid(name: string): boolean {
  return FULL_OID.test(name);
}

/** True when `name` could be an abbreviated commit id (4 to 39 hex digits). */
export function isShortOid(name: string): boolean {
  return SHORT_OID.test(name);
}

/**
 * Resolves a name in a local gitdir in git's order: a full id as is; then a ref (`NAME`, `refs/NAME`,
 * `refs/tags/NAME`, `refs/heads/NAME`, `refs/remotes/NAME`, `refs/remotes/NAME/HEAD`); then an abbreviated
 * id through the object database. NotFoundError naming `rev` when none fits; UsageError when ambiguous.
 */
export function localNames(gitdir: string): NameResolver {
  return async (name, rev) => {
    if (isFullOid(name)) return name.toLowerCase();
    const viaRef = await git.resolveRef({ fs, gitdir, ref: name }).catch(() => undefined);
    if (viaRef !== undefined) return viaRef;
    if (isShortOid(name)) return expandShortOid(gitdir, name.toLowerCase(), rev);
    throw new NotFoundError(`revision ${rev} not found in ${gitdir}: ${name} is no branch, tag or ref there`, { rev, gitdir });
  };
}

async function step(gitdir: string, oid: string, s: RevisionStep, rev: string): Promise<string> {
  if (s.kind === '^' && s.n === 0) return oid;
  let at = oid;
  for (let i = 0; i < (s.kind === '~' ? s.n : 1); i++) {
    const { parents } = await readCommitHeader(gitdir, at);
    const index = s.kind === '~' ? 0 : s.n - 1;
    const next = parents[index];
    if (next === undefined) {
      const has = parents.length === 0 ? 'no parent (it is the first commit)' : `${parents.length} parent(s)`;
      throw new NotFoundError(`revision ${rev}: commit ${at.slice(0, 12)} has ${has}, so ${s.kind}${s.n} names nothing`, { rev, oid: at });
    }
    at = next;
  }
  return at;
}

/**
 * Resolves `rev` (`NAME` then any `~N`/`^N`, see parseRevision) to a commit id in `gitdir`: the name through
 * `names` (default: local refs and ids), annotated tags peeled, then each parent step walked. Fails with
 * UsageError (bad syntax, ambiguous id, names a tree or blob), NotFoundError (unknown name, no such parent),
 * GitError (unreadable objects); every message names the revision.
 */
export async function resolveRevision(gitdir: string, rev: string, names: NameResolver = localNames(gitdir)): Promise<string> {
  const parsed = parseRevision(rev);
  let oid = await peelToCommit(gitdir, await names(parsed.name, rev), rev);
  for (const s of parsed.steps) oid = await step(gitdir, oid, s, rev);
  return oid;
}
