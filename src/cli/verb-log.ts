import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError } from '../errors/index.js';
import { openDeployRepo } from '../deploy-repo/index.js';
import { readTreeFiles } from '../git/read-tree.js';
import { parseAllowedSigners } from '../trust/allowed-signers.js';
import { describeHistory, type CommitView } from '../trust/commit-history-view.js';
import { loadCommitTrust, type CommitTrust } from '../trust/commit-trust.js';
import { stringList, stringOption, type Command } from './command.js';

/** Pinned keys from --trust-file (allowed_signers, or armored OpenPGP keys), else the repo's own list at HEAD. */
async function trustFor(files: string[], gitdir: string, head: string): Promise<{ trust: CommitTrust | null; source: string }> {
  if (files.length > 0) {
    const ssh: string[] = [];
    const pgp: string[] = [];
    for (const f of files) {
      const text = await readFile(f, 'utf8').catch(() => '');
      (text.trimStart().startsWith('-----BEGIN PGP') ? pgp : ssh).push(f);
    }
    if (ssh.length > 1) throw new UsageError('log: give at most one allowed_signers file with --trust-file');
    return { trust: await loadCommitTrust({ ...(ssh[0] ? { allowedSignersFile: ssh[0] } : {}), pgpKeyFiles: pgp }), source: files.join(', ') };
  }
  const found = await readTreeFiles({ gitdir, oid: head, include: (p) => p === 'allowed_signers' }).catch(() => new Map<string, Uint8Array>());
  const bytes = found.get('allowed_signers');
  if (!bytes) return { trust: null, source: 'none (no --trust-file and no allowed_signers at HEAD)' };
  const source = `allowed_signers at ${head.slice(0, 12)} (the repo vouching for itself; pin with --trust-file)`;
  return { trust: { sshSigners: parseAllowedSigners(Buffer.from(bytes).toString('utf8'), 'allowed_signers'), pgpKeys: [], verify: 'head' }, source };
}

function formatLine(c: CommitView): string {
  const mark = c.verified ? `ok   ${c.signer} (${c.format})` : `NOT  ${c.reason ?? 'unverified'}`;
  const sets = c.setsChanged.length ? ` [${c.setsChanged.join(', ')}]` : '';
  return `${c.oid.slice(0, 12)}  ${c.date.slice(0, 16).replace('T', ' ')}  ${mark}${sets}  ${c.subject}`;
}

/** `flotilla log`: recent deploy-repo commits with their signer, verified or not, and the sets each changed. */
export const command: Command = {
  name: 'log',
  summary: 'recent deploy-repo commits: signer, verified or not, sets changed',
  usage: 'flotilla log [--repo DIR|URL] [--branch B] [-n N] [--trust-file FILE]... [--json]',
  description: `Lists the N most recent commits (default 20, newest first) of the deploy repo, each with its
signature verdict and the sets/*.yaml it changed. Signatures are judged as the agent judges them: against
--trust-file (the pinned allowed_signers and/or armored OpenPGP keys) narrowed by the repo's own
allowed_signers at the parent, with key validity at commit time. Without --trust-file the repo's own
allowed_signers at HEAD is used and the output says so. Exit 0; the verdicts are data.`,
  options: {
    repo: { type: 'string', value: 'DIR|URL', help: 'deploy repo: a local path or an http(s) URL (default: the current directory)' },
    branch: { type: 'string', value: 'BRANCH', help: 'branch to list (default: HEAD locally, main for a URL)' },
    n: { type: 'string', short: 'n', value: 'N', help: 'how many commits (default 20, at most 10000)' },
    'trust-file': { type: 'string', multiple: true, value: 'FILE', help: 'pinned signers: allowed_signers or armored OpenPGP keys (repeatable)' },
  },
  positionals: { min: 0, max: 0 },
  async run(input, ctx) {
    const nText = stringOption(input, 'n') ?? '20';
    const count = Number(nText);
    if (!/^\d+$/.test(nText) || count < 1 || count > 10_000) throw new UsageError(`log: -n must be a whole number from 1 to 10000, not ${JSON.stringify(nText)}`);
    const branch = stringOption(input, 'branch');
    const repo = await openDeployRepo({ repo: stringOption(input, 'repo') ?? '.', cwd: ctx.cwd, env: ctx.env, signal: ctx.signal });
    try {
      const head = await repo.resolve(branch === undefined ? undefined : `refs/heads/${branch}`);
      const trustFiles = stringList(input, 'trust-file').map((f) => resolve(ctx.cwd, f));
      const { trust, source } = await trustFor(trustFiles, repo.gitdir, head);
      const commits = await describeHistory(repo.gitdir, head, count, trust);
      const text = [`trust: ${source}`, ...commits.map(formatLine)].join('\n');
      return { exitCode: 0, text, json: { head, trust: source, commits } };
    } finally {
      await repo.close();
    }
  },
};
