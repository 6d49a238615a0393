import { readFile, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { watch } from 'chokidar';
import { ConfigError } from '../errors/index.js';
import type { TriggerLog } from './cron-trigger.js';
import type { RequestOutcome, TriggerReason } from './single-flight.js';

/** Options of startWatchTrigger. */
export interface WatchTriggerOptions {
  /** A bare repository, or a work tree (its `.git` directory, or a `.git` file pointing to one). */
  repoPath: string;
  request: (reason: TriggerReason) => Promise<RequestOutcome>;
  /** Quiet time after the last change before asking for a tick (a push touches several files). Default 200. */
  debounceMs?: number;
  log?: TriggerLog;
}

/**
 * Finds the git directories whose refs matter for `repoPath`: the repo's git dir and, for a linked work
 * tree, its common dir. Throws ConfigError (data.path) when `repoPath` is not a git repository.
 */
export async function findGitDirs(repoPath: string): Promise<string[]> {
  const root = resolve(repoPath);
  const dotGit = join(root, '.git');
  const info = await stat(dotGit).catch(() => undefined);
  let gitDir: string;
  if (info?.isDirectory() === true) {
    gitDir = dotGit;
  } else if (info?.isFile() === true) {
    const match = /^gitdir:\s*(.+)$/m.exec(await readFile(dotGit, 'utf8'));
    if (match === null) throw new ConfigError(`${dotGit} is not a "gitdir:" file`, { path: dotGit });
    gitDir = resolve(root, match[1]!.trim());
  } else if ((await isFile(join(root, 'HEAD'))) && (await isDirectory(join(root, 'refs')))) {
    gitDir = root;
  } else {
    throw new ConfigError(`${root} is not a git repository (no .git, no HEAD and refs/)`, { path: root });
  }
  const dirs = [gitDir];
  const common = await readFile(join(gitDir, 'commondir'), 'utf8').catch(() => undefined);
  if (common !== undefined) dirs.push(resolve(gitDir, common.trim()));
  return dirs;
}

/**
 * True for the paths whose change means "the repo moved": the git dir itself (so it is traversed),
 * HEAD, packed-refs and everything under refs/, except git's `*.lock` files.
 */
export function isRefPath(path: string, gitDirs: readonly string[]): boolean {
  const p = resolve(path);
  if (p.endsWith('.lock')) return false;
  return gitDirs.some(
    (d) => p === d || p === join(d, 'HEAD') || p === join(d, 'packed-refs') || p === join(d, 'refs') || p.startsWith(join(d, 'refs') + sep),
  );
}

/**
 * Watches a local repository with chokidar (directories plus a filter function: chokidar ≥ 4 has no
 * globs) and calls `request('watch')` once per burst of ref changes (debounced). Resolves when the
 * watcher is ready, to stop(): closes the watcher and cancels a pending debounce. Throws ConfigError
 * when `repoPath` is not a git repository.
 */
export async function startWatchTrigger(options: WatchTriggerOptions): Promise<() => Promise<void>> {
  const gitDirs = await findGitDirs(options.repoPath);
  const debounceMs = options.debounceMs ?? 200;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const watcher = watch(gitDirs, {
    ignoreInitial: true,
    ignored: (path) => !isRefPath(path, gitDirs),
    persistent: true,
  });
  watcher.on('all', (event, path) => {
    if (closed || event === 'addDir' || event === 'unlinkDir') return;
    options.log?.debug({ trigger: 'watch', event, path }, 'repository ref changed');
    clearTimeout(timer);
    timer = setTimeout(() => {
      void options.request('watch');
    }, debounceMs);
  });
  watcher.on('error', (err) => options.log?.warn({ trigger: 'watch', err: String(err) }, 'repository watcher error'));
  await new Promise<void>((ready) => watcher.once('ready', ready));
  return async () => {
    closed = true;
    clearTimeout(timer);
    await watcher.close();
  };
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() === true;
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() === true;
}
