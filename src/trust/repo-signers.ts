import { UnsafeTreeError } from '../errors/index.js';
import type { CommitReader } from '../git/commit-graph.js';
import { readRawObject } from '../git/objects.js';
import { parseTreeEntries } from '../git/tree-entries.js';
import { parseAllowedSigners, type AllowedSigner } from './allowed-signers.js';
import type { CommitTrust } from './commit-trust.js';

/** The repo's allowed_signers at a commit: its blob oid (null when absent) and parsed lines. */
export interface RepoSigners {
  blob: string | null;
  signers: AllowedSigner[] | null;
}

/**
 * Reads the repo's own allowed_signers (`path` at the root of the tree) at commit `oid`, caching by blob.
 * Absent → { blob: null }. A symlink or submodule there → UnsafeTreeError; a malformed or empty file →
 * KeyError naming `path@oid`.
 */
export class RepoSignersReader {
  private readonly byBlob = new Map<string, AllowedSigner[]>();
  private readonly byCommit = new Map<string, RepoSigners>();
  constructor(
    private readonly reader: CommitReader,
    readonly path = 'allowed_signers',
  ) {}

  /** The allowed_signers blob oid at `oid` (null when the file is absent). */
  async blobAt(oid: string): Promise<string | null> {
    return (await this.at(oid, false)).blob;
  }

  /** The parsed allowed_signers at `oid` (signers null when the file is absent). */
  async signersAt(oid: string): Promise<RepoSigners> {
    return this.at(oid, true);
  }

  private async at(oid: string, parse: boolean): Promise<RepoSigners> {
    const known = this.byCommit.get(oid);
    if (known && (!parse || known.signers !== null || known.blob === null)) return known;
    const header = await this.reader.read(oid);
    const tree = await readRawObject(this.reader.gitdir, header.tree, this.reader.cache);
    const entry = parseTreeEntries(tree.bytes, '').find((e) => e.name === this.path);
    let result: RepoSigners = { blob: null, signers: null };
    if (entry) {
      if (entry.kind !== 'file' && entry.kind !== 'executable') {
        throw new UnsafeTreeError(`${this.path} at ${oid} is a ${entry.kind}; it must be a regular file`, { oid, path: this.path, reason: entry.kind });
      }
      result = { blob: entry.oid, signers: null };
      if (parse) {
        let signers = this.byBlob.get(entry.oid);
        if (!signers) {
          const blob = await readRawObject(this.reader.gitdir, entry.oid, this.reader.cache);
          signers = parseAllowedSigners(Buffer.from(blob.bytes).toString('utf8'), `${this.path}@${oid.slice(0, 12)}`);
          this.byBlob.set(entry.oid, signers);
        }
        result = { blob: entry.oid, signers };
      }
    }
    this.byCommit.set(oid, result);
    return result;
  }
}

/**
 * The trust a commit is judged by, given the repo's allowed_signers at its (first) parent: the pinned SSH
 * signers whose key also appears (as a plain key) in that file. The repo can only narrow the pinned set,
 * never widen it; without a file at the parent (or for a root commit) the pinned set applies unchanged.
 * OpenPGP keys and merge keys are pinned only.
 */
export function narrowTrust(pinned: CommitTrust, repo: RepoSigners | null): CommitTrust {
  if (!repo?.signers) return pinned;
  const blobs = repo.signers.filter((s) => !s.certAuthority).map((s) => s.keyBlob);
  return { ...pinned, sshSigners: pinned.sshSigners.filter((p) => blobs.some((b) => b.equals(p.keyBlob))) };
}
