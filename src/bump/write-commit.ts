import * as fs from 'node:fs';
import git from 'isomorphic-git';
import { FlotillaError, GitError } from '../errors/index.js';
import type { CommitSigner } from './commit-signer.js';
import type { GitIdentity } from './identity.js';

/** Writes `files` (repo path → bytes) over the tree of commit `base`; returns the new root tree oid. */
export async function writeTreeWith(gitdir: string, base: string, files: Map<string, Uint8Array>): Promise<string> {
  const { commit } = await git.readCommit({ fs, gitdir, oid: base });
  return rewriteTree(gitdir, commit.tree, [...files].map(([p, b]) => [p.split('/'), b] as const));
}

async function rewriteTree(gitdir: string, treeOid: string | null, edits: ReadonlyArray<readonly [string[], Uint8Array]>): Promise<string> {
  const entries = treeOid === null ? [] : (await git.readTree({ fs, gitdir, oid: treeOid })).tree;
  const byName = new Map(entries.map((e) => [e.path, e]));
  const groups = new Map<string, Array<readonly [string[], Uint8Array]>>();
  for (const [parts, bytes] of edits) {
    const [head, ...rest] = parts;
    if (head === undefined) continue;
    if (rest.length === 0) {
      const oid = await git.writeBlob({ fs, gitdir, blob: bytes });
      const old = byName.get(head);
      byName.set(head, { mode: old?.type === 'blob' ? old.mode : '100644', path: head, oid, type: 'blob' });
    } else groups.set(head, [...(groups.get(head) ?? []), [rest, bytes] as const]);
  }
  for (const [dir, sub] of groups) {
    const old = byName.get(dir);
    if (old !== undefined && old.type !== 'tree') throw new GitError(`${dir} is not a directory in the repo`, { path: dir });
    const oid = await rewriteTree(gitdir, old?.oid ?? null, sub);
    byName.set(dir, { mode: '040000', path: dir, oid, type: 'tree' });
  }
  return git.writeTree({ fs, gitdir, tree: [...byName.values()] });
}

/** What one signed commit needs. `ref` is a full ref name (refs/heads/NAME), moved to the new commit. */
export interface SignedCommitInput {
  gitdir: string;
  ref: string;
  parent: string;
  tree: string;
  message: string;
  identity: GitIdentity;
  signer: CommitSigner;
  /** Commit time, epoch ms (default now). */
  now?: number;
}

/**
 * Creates a commit of `tree` on `parent`, signed in-process through isomorphic-git's onSign, and moves
 * `ref` to it. Returns the new oid. Throws KeyError from the signer, GitError when writing fails.
 */
export async function writeSignedCommit(input: SignedCommitInput): Promise<string> {
  const timestamp = Math.floor((input.now ?? Date.now()) / 1000);
  const who = { ...input.identity, timestamp, timezoneOffset: 0 };
  try {
    return await git.commit({
      fs,
      gitdir: input.gitdir,
      ref: input.ref,
      parent: [input.parent],
      tree: input.tree,
      message: input.message.endsWith('\n') ? input.message : `${input.message}\n`,
      author: who,
      committer: who,
      // isomorphic-git calls onSign only when signingKey is set; the key itself stays in the signer.
      signingKey: input.signer.source,
      onSign: async ({ payload }) => ({ signature: await input.signer.sign(payload) }),
    });
  } catch (err) {
    if (err instanceof FlotillaError) throw err;
    throw new GitError(`cannot write the commit on ${input.ref}: ${(err as Error).message}`, { ref: input.ref }, { cause: err });
  }
}
