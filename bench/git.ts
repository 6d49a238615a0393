// npm run bench -- git [commits=2000] [runs=15]
// Deploy-repo access over loopback HTTP (git http-backend behind scripts/servers/git-http-server.ts):
// no-change poll and fetch-when-changed by Flotilla's syncRepo beside `git ls-remote` / `git fetch` of the
// same repo in the same run, then the cost of verifying one commit (SSH ed25519/ECDSA, OpenPGP) and of the
// ancestry walk over the whole history.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { startGitHttpServer } from '../scripts/servers/git-http-server.js';
import { syncRepo } from '../src/git/sync-repo.js';
import { parseAllowedSigners } from '../src/trust/allowed-signers.js';
import type { CommitTrust } from '../src/trust/commit-trust.js';
import { verifyCommit } from '../src/trust/commit-verify.js';
import { readRawObject } from '../src/git/objects.js';
import { splitSignedCommit } from '../src/trust/commit-payload.js';
import { checkCommitSignature } from '../src/trust/commit-signature.js';
import { readPgpKeyring } from '../src/trust/openpgp-verify.js';
import { verifyAdvance } from '../src/trust/repo-history.js';
import { median, printTable, spread } from './lib/stats.js';

/** What `npm run bench -- git --help` prints: the synopsis, then what it measures. */
export const usage = "npm run bench -- git [COMMITS=2000] [RUNS=15]\nDeploy-repo access over loopback HTTP beside `git ls-remote` / `git fetch`, and the cost of verifying a commit's signature and of the ancestry walk.";

const ENV: Record<string, string> = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: '/nonexistent-flotilla-bench',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Bench',
  GIT_AUTHOR_EMAIL: 'bench@example.test',
  GIT_COMMITTER_NAME: 'Bench',
  GIT_COMMITTER_EMAIL: 'bench@example.test',
  LC_ALL: 'C',
};

function sh(cmd: string, args: string[], opts: { cwd?: string; input?: string; env?: Record<string, string> } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...ENV, ...opts.env } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out).toString()) : reject(new Error(`${cmd} ${args.join(' ')}: ${Buffer.concat(err).toString()}`))));
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** Writes `count` commits (each changing sets/web.yaml and one data file) in one git fast-import run. */
async function importHistory(work: string, count: number): Promise<void> {
  const lines: string[] = [];
  for (let i = 1; i <= count; i++) {
    const web = `closure: sha256:${i.toString(16).padStart(64, '0')}\nmachines: [web-${i % 7}]\n`;
    const data = `release ${i}\n${'x'.repeat(200)}\n`;
    const msg = `bump web to ${i}`;
    lines.push('commit refs/heads/main', `committer Bench <bench@example.test> ${1_700_000_000 + i * 60} +0000`, `data ${Buffer.byteLength(msg)}`, msg);
    lines.push(`M 100644 inline sets/web.yaml`, `data ${Buffer.byteLength(web)}`, web);
    lines.push(`M 100644 inline notes/${i % 50}.txt`, `data ${Buffer.byteLength(data)}`, data, '');
  }
  await sh('git', ['fast-import', '--quiet'], { cwd: work, input: `${lines.join('\n')}\n` });
}

async function times(runs: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}

async function signedCommits(work: string, count: number, args: string[], env: Record<string, string> = {}): Promise<string[]> {
  const oids: string[] = [];
  for (let i = 0; i < count; i++) {
    await sh('git', [...args, 'commit', '-q', '--allow-empty', '-S', '-m', `signed ${i}`], { cwd: work, env });
    oids.push((await sh('git', ['rev-parse', 'HEAD'], { cwd: work })).trim());
  }
  return oids;
}

/** Runs the git deploy-repo benchmark and prints its tables. */
export async function run(args: string[]): Promise<void> {
  const commits = Number(args[0] ?? 2000);
  const runs = Number(args[1] ?? 15);
  const root = await mkdtemp(join(tmpdir(), 'flotilla-bench-git-'));
  const server = await startGitHttpServer(join(root, 'srv'));
  try {
    const work = join(root, 'work');
    await sh('git', ['init', '-q', '-b', 'main', work]);
    let t0 = performance.now();
    await importHistory(work, commits);
    const bare = join(root, 'srv', 'deploy.git');
    await mkdir(join(root, 'srv'), { recursive: true });
    await sh('git', ['clone', '-q', '--bare', work, bare]);
    process.stdout.write(`repo: ${commits} commits built in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${runs} runs per figure; ms, median (min–max)\n\n`);
    const url = `${server.url}/deploy.git`;
    const cache = join(root, 'cache', 'deploy.git');

    t0 = performance.now();
    await syncRepo({ url, branch: 'main', cacheDir: cache });
    const firstSync = performance.now() - t0;
    t0 = performance.now();
    await sh('git', ['clone', '-q', '--bare', url, join(root, 'cli.git')]);
    const firstClone = performance.now() - t0;

    const poll = await times(runs, () => syncRepo({ url, branch: 'main', cacheDir: cache }));
    const refsOnly = await times(runs, () => git.listServerRefs({ http, url, protocolVersion: 2, prefix: 'refs/heads/main' }));
    const lsRemote = await times(runs, () => sh('git', ['-c', 'protocol.version=2', 'ls-remote', url, 'refs/heads/main']));
    const fetchOurs: number[] = [];
    const fetchGit: number[] = [];
    for (let i = 0; i < runs; i++) {
      await sh('git', ['commit', '-q', '--allow-empty', '-m', `tick ${i}`], { cwd: work });
      await sh('git', ['push', '-q', bare, 'main'], { cwd: work });
      let t = performance.now();
      const r = await syncRepo({ url, branch: 'main', cacheDir: cache });
      fetchOurs.push(performance.now() - t);
      if (!r.changed) throw new Error('bench: sync saw no change');
      t = performance.now();
      await sh('git', ['--git-dir', join(root, 'cli.git'), 'fetch', '-q', url, '+refs/heads/main:refs/heads/main']);
      fetchGit.push(performance.now() - t);
    }
    printTable(['operation', 'flotilla (isomorphic-git)', 'git CLI'], [
      ['first sync / clone --bare', firstSync.toFixed(0), firstClone.toFixed(0)],
      ['no-change poll (syncRepo / ls-remote)', spread(poll, 1), spread(lsRemote, 1)],
      ['  listServerRefs alone', spread(refsOnly, 1), ''],
      ['fetch when changed (+1 commit)', spread(fetchOurs, 1), spread(fetchGit, 1)],
    ]);

    // Verification cost per commit, on commits signed by the real tools.
    const keys = join(root, 'keys');
    await mkdir(keys);
    await sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice@example.test', '-f', join(keys, 'ed')]);
    await sh('ssh-keygen', ['-q', '-t', 'ecdsa', '-b', '256', '-N', '', '-C', 'bob@example.test', '-f', join(keys, 'ec')]);
    const gnupg = join(keys, 'gnupg');
    await mkdir(gnupg, { mode: 0o700 });
    await sh('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', 'carol <carol@example.test>', 'ed25519', 'sign', 'never'], { env: { GNUPGHOME: gnupg } });
    const armored = await sh('gpg', ['--batch', '--armor', '--export', 'carol@example.test'], { env: { GNUPGHOME: gnupg } });
    const signerLine = async (f: string, who: string): Promise<string> => `${who} ${(await readFile(`${f}.pub`, 'utf8')).split(' ').slice(0, 2).join(' ')}`;
    const signersText = `${await signerLine(join(keys, 'ed'), 'alice@example.test')}\n${await signerLine(join(keys, 'ec'), 'bob@example.test')}\n`;
    const trust: CommitTrust = { sshSigners: parseAllowedSigners(signersText, 'bench'), pgpKeys: await readPgpKeyring([armored], 'carol.asc'), verify: 'head' };
    const n = Math.max(20, Math.min(100, runs * 5));
    const gitdir = join(work, '.git');
    const ed = await signedCommits(work, n, ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${join(keys, 'ed')}`]);
    const ec = await signedCommits(work, n, ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${join(keys, 'ec')}`]);
    const pgp = await signedCommits(work, n, ['-c', 'user.signingkey=carol@example.test'], { GNUPGHOME: gnupg });
    const cacheObj = {};
    const per = async (oids: string[]): Promise<number[]> => times(oids.length, (i) => verifyCommit({ gitdir, oid: oids[i]!, trust, cache: cacheObj }));
    await per(ed.slice(0, 5));
    const edT = await per(ed);
    const ecT = await per(ec);
    const pgpT = await per(pgp);
    // The signature check alone, on commits already in memory (no object read): crypto + parsing.
    const rawEd = await Promise.all(ed.map(async (o) => splitSignedCommit((await readRawObject(gitdir, o, cacheObj)).bytes)));
    const sigOnly = await times(runs, async () => {
      for (const parts of rawEd) await checkCommitSignature(parts, trust, Date.now());
    });
    const sigOnlyPer = sigOnly.map((t) => t / rawEd.length);
    await sh('git', ['config', 'gpg.ssh.allowedSignersFile', join(keys, 'allowed')], { cwd: work });
    await writeFile(join(keys, 'allowed'), signersText);
    const gitEd = await times(10, (i) => sh('git', ['verify-commit', ed[i]!], { cwd: work }));
    const gitPgp = await times(10, (i) => sh('git', ['verify-commit', pgp[i]!], { cwd: work, env: { GNUPGHOME: gnupg } }));
    const head = ed.at(-1)!;
    const first = (await sh('git', ['rev-list', '--max-parents=0', 'HEAD'], { cwd: work })).trim();
    const total = commits + 3 * n + runs;
    const walk = await times(Math.min(runs, 5), () => verifyAdvance({ gitdir, head, lastApplied: first, trust, maxWalk: total + 10 }));
    const near = ed.at(-11)!;
    const typical = await times(runs, () => verifyAdvance({ gitdir, head, lastApplied: near, trust }));
    process.stdout.write('\n');
    printTable(['verification', 'flotilla in-process', 'git verify-commit (spawns ssh-keygen/gpg)'], [
      [`SSH ed25519, per commit (${n})`, spread(edT, 3), spread(gitEd, 1)],
      ['  SSH ed25519 signature check only (object in memory)', spread(sigOnlyPer, 3), ''],
      [`SSH ECDSA P-256, per commit (${n})`, spread(ecT, 3), ''],
      [`OpenPGP ed25519, per commit (${n})`, spread(pgpT, 3), spread(gitPgp, 1)],
      ['verifyAdvance head, 10 commits since last applied', spread(typical, 2), ''],
      [`verifyAdvance head, ancestry over all ${total} commits`, spread(walk, 1), ''],
    ]);
    process.stdout.write(`\nSSH ed25519 median ${median(edT).toFixed(3)} ms/commit (target ~0.3); no-change poll median ${median(poll).toFixed(1)} ms (listServerRefs ~14 ms seen before).\n`);
    await sh('gpgconf', ['--kill', 'gpg-agent'], { env: { GNUPGHOME: gnupg } }).catch(() => undefined);
  } finally {
    await server.close();
    await rm(root, { recursive: true, force: true });
  }
}

