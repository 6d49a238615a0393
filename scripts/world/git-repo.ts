import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { GpgKey } from './gpg.js';
import type { SshKey } from './ssh-keys.js';
import { runTool, type RunOptions } from './tools.js';

/** How a test commit is signed: an SSH key (gpg.format=ssh), an OpenPGP key, or not at all. */
export type CommitSigner = { ssh: SshKey } | { gpg: GpgKey } | null;

/** One test commit. Files map path → content (null deletes). Dates are Unix seconds. */
export interface CommitOptions {
  message?: string;
  files?: Record<string, string | null>;
  sign?: CommitSigner;
  date?: number;
}

/** An entry of a hand-built tree object. */
export interface RawTreeEntry {
  mode: string;
  name: string | Uint8Array;
  oid: string;
}

let clock = 1_700_000_000;

/** A real git work tree made with the git CLI, for building histories in tests. */
export class TestRepo {
  constructor(
    readonly dir: string,
    readonly gitdir: string,
  ) {}

  /** Runs `git ARGS` in the work tree (isolated env). */
  git(args: string[], options: RunOptions & { binary?: false } = {}): Promise<string> {
    return runTool('git', args, { cwd: this.dir, ...options });
  }

  /** Resolves a revision to its full oid. */
  async rev(ref = 'HEAD'): Promise<string> {
    return (await this.git(['rev-parse', '--verify', `${ref}^{commit}`])).trim();
  }

  /** Writes (or with null, deletes) files in the work tree. */
  async writeFiles(files: Record<string, string | null>): Promise<void> {
    for (const [path, content] of Object.entries(files)) {
      const full = join(this.dir, path);
      if (content === null) await rm(full, { force: true });
      else {
        await mkdir(dirname(full), { recursive: true });
        await writeFile(full, content);
      }
    }
  }

  /**
   * Writes `files`, stages everything and commits (empty commits allowed), signed as `sign` says.
   * Each commit gets a later date than the previous one unless `date` is given. Returns the new oid.
   */
  async commit(options: CommitOptions = {}): Promise<string> {
    if (options.files) await this.writeFiles(options.files);
    await this.git(['add', '-A']);
    clock += 60;
    const date = `${options.date ?? clock} +0000`;
    const env: Record<string, string> = { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date };
    const args = ['commit', '-q', '--allow-empty', '-m', options.message ?? `commit ${clock}`];
    const sign = options.sign ?? null;
    if (sign === null) args.unshift('-c', 'commit.gpgsign=false');
    else if ('ssh' in sign) {
      args.unshift('-c', 'gpg.format=ssh', '-c', `user.signingkey=${sign.ssh.privateKeyPath}`);
      args.push('-S');
    } else {
      args.unshift('-c', 'gpg.format=openpgp', '-c', `user.signingkey=${sign.gpg.fingerprint}`);
      args.push('-S');
      env.GNUPGHOME = sign.gpg.gnupgHome;
    }
    await this.git(args, { env });
    return this.rev();
  }

  /** Raw commit object text as git stores it (`git cat-file commit OID`). */
  catCommit(oid: string): Promise<string> {
    return this.git(['cat-file', 'commit', oid]);
  }

  /** Stores `content` as a loose object of `type` without any validation; returns its oid. */
  async writeRawObject(type: 'commit' | 'tree' | 'blob', content: string | Uint8Array): Promise<string> {
    const out = await this.git(['hash-object', '-t', type, '-w', '--literally', '--stdin'], { input: content });
    return out.trim();
  }

  /**
   * Stores a commit made from `payload` (an unsigned commit's text) with `signature` (armor) inserted as
   * its `gpgsig` header after the committer line, as git does. Returns the new oid.
   */
  async writeSignedCommit(payload: string, signature: string): Promise<string> {
    const split = payload.indexOf('\n\n');
    const header = `gpgsig ${signature.trimEnd().split('\n').join('\n ')}\n`;
    return this.writeRawObject('commit', `${payload.slice(0, split + 1)}${header}${payload.slice(split + 1)}`);
  }

  /** Builds a tree object byte by byte (so names like `..` or `.GIT` can exist); returns its oid. */
  async writeRawTree(entries: RawTreeEntry[]): Promise<string> {
    const parts: Buffer[] = [];
    for (const e of entries) {
      const name = typeof e.name === 'string' ? Buffer.from(e.name) : Buffer.from(e.name);
      parts.push(Buffer.from(`${e.mode} `), name, Buffer.from([0]), Buffer.from(e.oid, 'hex'));
    }
    return this.writeRawObject('tree', Buffer.concat(parts));
  }

  /** Points `branch` at `oid` (any move, like a force-push on a server). */
  async setBranch(branch: string, oid: string): Promise<void> {
    await this.git(['update-ref', `refs/heads/${branch}`, oid]);
  }

  /** Pushes `branch` to a bare repo path, forced (the remote follows whatever the test made). */
  async pushTo(bareGitdir: string, branch = 'main', from = branch): Promise<void> {
    await this.git(['push', '-q', '--force', bareGitdir, `${from}:refs/heads/${branch}`]);
  }
}

/** Creates a work tree `DIR/NAME` on branch main with a test identity. */
export async function createTestRepo(dir: string, name = 'repo'): Promise<TestRepo> {
  const path = join(dir, name);
  await mkdir(path, { recursive: true });
  await runTool('git', ['init', '-q', '-b', 'main', path]);
  const repo = new TestRepo(path, join(path, '.git'));
  await repo.git(['config', 'user.name', 'Test Engineer']);
  await repo.git(['config', 'user.email', 'engineer@example.test']);
  await repo.git(['config', 'core.autocrlf', 'false']);
  return repo;
}

/** Creates an empty bare repo `DIR/NAME` (e.g. under a git-http-server project root); returns its gitdir. */
export async function createBareRepo(dir: string, name = 'deploy.git'): Promise<string> {
  const path = join(dir, name);
  await runTool('git', ['init', '-q', '--bare', '-b', 'main', path]);
  return path;
}
