import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ConfigError, GitError, KeyError } from '../errors/index.js';
import { findPackageRoot } from '../declarations/schema-registry.js';
import { tempNameFor, fsyncDir } from '../util/atomic-write.js';
import { stringOption, type Command, type CommandContext } from './command.js';

const run = promisify(execFile);
const SCHEMA_LINE = /^# yaml-language-server: \$schema=(\S+)$/m;

/** Runs git in `cwd` with hooks off; fails with GitError carrying git's stderr. */
async function runGit(ctx: CommandContext, cwd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run('git', ['-c', 'core.hooksPath=/dev/null', ...args], { cwd, env: { ...ctx.env, GIT_TERMINAL_PROMPT: '0' } });
    return stdout.trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new GitError(`git ${args[0] ?? ''} failed: ${(e.stderr ?? e.message).trim()}`, { args: args.slice(0, 1) });
  }
}

/** The SSH public key line of a signing key file (a .pub file is taken as is; an agent then signs). */
async function readPublicKey(keyFile: string): Promise<string> {
  const text = await readFile(keyFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new KeyError(`cannot read signing key ${keyFile}: ${err.code ?? err.message}`, { file: keyFile });
  });
  if (/^(ssh-|ecdsa-|sk-)/.test(text)) return text.trim();
  try {
    return (await run('ssh-keygen', ['-y', '-P', '', '-f', keyFile])).stdout.trim();
  } catch {
    const pub = await readFile(`${keyFile}.pub`, 'utf8').catch(() => undefined);
    if (pub) return pub.trim();
    throw new KeyError(`cannot derive the public key of ${keyFile} (encrypted? put ${basename(keyFile)}.pub beside it)`, { file: keyFile });
  }
}

/** Copies the template and the schemas, pointing each `$schema=` line at the repo's own copy in .flotilla/schemas/. */
async function writeTemplate(root: string, dest: string): Promise<void> {
  await cp(join(root, 'deploy-repo-template'), dest, { recursive: true });
  await cp(join(root, 'schemas'), join(dest, '.flotilla', 'schemas'), { recursive: true });
  const paths = await readdir(dest, { recursive: true });
  for (const file of paths.filter((p) => /\.ya?ml$/.test(p) && !p.startsWith('.flotilla')).map((p) => join(dest, p))) {
    const text = await readFile(file, 'utf8');
    const m = SCHEMA_LINE.exec(text);
    if (!m?.[1]) continue;
    const schema = basename(m[1]);
    const target = relative(dirname(file), join(dest, '.flotilla', 'schemas', schema));
    await writeFile(file, text.replace(SCHEMA_LINE, `# yaml-language-server: $schema=${target}`));
  }
}

async function assertEmptyOrAbsent(dir: string): Promise<void> {
  const st = await stat(dir).catch(() => undefined);
  if (!st) return;
  if (!st.isDirectory()) throw new ConfigError(`${dir} exists and is not a directory`, { dir });
  if ((await readdir(dir)).length > 0) throw new ConfigError(`${dir} is not empty; flotilla init only creates new deploy repos`, { dir });
}

/** `flotilla init DIR [--signing-key FILE]`: a new deploy repo from deploy-repo-template/, built aside and renamed into place. */
export const command: Command = {
  name: 'init',
  summary: 'create a new deploy repo (template, allowed_signers, first signed commit)',
  usage: 'flotilla init DIR [--signing-key FILE] [--principal NAME]',
  description: `Creates DIR as a git repo holding flotilla.yaml, sets/, machines/, allowed_signers and a copy of the
schemas (.flotilla/schemas/) for editors. With --signing-key (an SSH private key, or a .pub whose private key is
in ssh-agent), its public key goes into allowed_signers, the repo is configured to sign with it, and the first
commit is signed. Refuses a DIR that exists and is not empty.`,
  options: {
    'signing-key': { type: 'string', value: 'FILE', help: 'SSH key to trust and to sign the first commit with' },
    principal: { type: 'string', value: 'NAME', help: 'principal for allowed_signers (default: git user.email, else flotilla@localhost)' },
  },
  positionals: { min: 1, max: 1 },
  async run(input, ctx) {
    const dir = resolve(ctx.cwd, input.positionals[0] ?? '');
    const keyOpt = stringOption(input, 'signing-key');
    const keyFile = keyOpt === undefined ? undefined : resolve(ctx.cwd, keyOpt);
    await assertEmptyOrAbsent(dir);
    const publicKey = keyFile === undefined ? undefined : await readPublicKey(keyFile);
    await mkdir(dirname(dir), { recursive: true });
    const tmp = tempNameFor(dir);
    let commit: string | undefined;
    let principal: string | undefined;
    try {
      await writeTemplate(findPackageRoot(), tmp);
      await runGit(ctx, tmp, ['init', '-q', '-b', 'main']);
      const email = await runGit(ctx, tmp, ['config', 'user.email']).catch(() => '');
      if (email === '') {
        await runGit(ctx, tmp, ['config', 'user.email', 'flotilla@localhost']);
        await runGit(ctx, tmp, ['config', 'user.name', 'Flotilla']);
      }
      if (keyFile !== undefined && publicKey !== undefined) {
        principal = stringOption(input, 'principal') ?? (email || 'flotilla@localhost');
        const signers = await readFile(join(tmp, 'allowed_signers'), 'utf8');
        await writeFile(join(tmp, 'allowed_signers'), `${signers}${principal} namespaces="git" ${publicKey}\n`);
        // Later commits are signed too, and `git log --show-signature` checks them against the repo's signers.
        const settings: Array<[string, string]> = [
          ['gpg.format', 'ssh'],
          ['user.signingkey', keyFile],
          ['commit.gpgsign', 'true'],
          ['gpg.ssh.allowedSignersFile', join(dir, 'allowed_signers')],
        ];
        for (const [k, v] of settings) await runGit(ctx, tmp, ['config', k, v]);
      }
      await runGit(ctx, tmp, ['add', '-A']);
      if (keyFile !== undefined) {
        await runGit(ctx, tmp, ['commit', '-q', '-S', '-m', 'Deploy repo created by flotilla init']);
        commit = await runGit(ctx, tmp, ['rev-parse', 'HEAD']);
      }
      // An empty DIR may exist (checked above); rename cannot replace a directory.
      await rmdir(dir).catch(() => undefined);
      await rename(tmp, dir);
      await fsyncDir(dirname(dir));
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
    const next = commit
      ? `first commit ${commit.slice(0, 12)} signed by ${principal ?? ''}; push it, then pin allowed_signers in each agent's config`
      : 'files are staged, not committed: commit them signed (git -c gpg.format=ssh -c user.signingkey=KEY commit -S)';
    return {
      exitCode: 0,
      text: `created deploy repo ${dir}\n${next}\nedit flotilla.yaml (stores, publisher keys), then check with: flotilla validate --repo ${dir}`,
      json: { ok: true, dir, signed: commit !== undefined, ...(commit ? { commit } : {}), ...(principal ? { principal } : {}) },
    };
  },
};
