import { spawn } from 'node:child_process';
import { lstat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ActivationError } from '../errors/index.js';
import { formatSha256, knownRegistered, parseSha256, recordRegistered, type NarInfo } from '../nix/index.js';

// Why `nix-store --load-db` fed a registration made from the verified narinfos, rather than
// `nix-store --register-validity`: without --hash-given the latter re-reads and re-hashes every path we have
// just hashed while unpacking, and with it the input is the same format; --load-db is the documented way to
// load registrations made elsewhere (the NixOS installer does it), sets NarHash, NarSize and References
// exactly as the signed narinfo says, and works on a chroot store (`--store ROOT`). Only paths Nix does not
// already hold as valid are registered, so a path the host's Nix owns keeps its own registration.

/** How long one nix-store call may take before it is killed (a registration of many paths is one call). */
const NIX_STORE_TIMEOUT_MS = 120_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  missing: boolean;
}

function runNixStore(nixStore: string, args: string[], input: string, signal?: AbortSignal): Promise<Run> {
  return new Promise((done) => {
    const child = spawn(nixStore, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: NIX_STORE_TIMEOUT_MS, ...(signal ? { signal } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString('utf8')).slice(-8192)));
    child.on('error', (err: NodeJS.ErrnoException) => done({ code: null, stdout, stderr: err.message, missing: err.code === 'ENOENT' }));
    child.on('close', (code) => done({ code, stdout, stderr, missing: false }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

function storeArgs(root: string): string[] {
  return resolve(root) === '/' ? [] : ['--store', resolve(root)];
}

/** True when `nixStore` (default `nix-store` on PATH) can be run: the host has Nix. */
export async function hasNix(nixStore = 'nix-store'): Promise<boolean> {
  const r = await runNixStore(nixStore, ['--version'], '');
  return !r.missing && r.code === 0;
}

/** The registration lines of one path, as `nix-store --dump-db` writes them. */
export function registrationOf(info: NarInfo): string {
  const narHash = formatSha256(parseSha256(info.narHash, `NarHash of ${info.storePath}`));
  return [info.storePath, narHash, String(info.narSize), info.deriver ?? '', String(info.references.length), ...info.references].join('\n') + '\n';
}

/**
 * Makes the paths of `closure`, already placed under `<root>/nix/store`, valid to the Nix whose store is
 * at `root` (the host's own at `/`): registers those it does not hold yet, dependencies first, in one
 * `--load-db`. Paths the root's registration record vouches for (knownRegistered) are not asked about;
 * the others are, and are recorded once valid. Returns the paths registered. Throws ActivationError with
 * nix-store's message when it fails or cannot be run.
 */
export async function registerWithNix(root: string, closure: readonly NarInfo[], options: { nixStore?: string; signal?: AbortSignal } = {}): Promise<string[]> {
  const r = await registerUnknown(root, closure, options);
  if (!r.nix) throw new ActivationError(`nix-store (${options.nixStore ?? 'nix-store'}) could not be run to register paths under ${root}: is Nix installed and on PATH?`, { root });
  return r.registered;
}

/**
 * The work of registerWithNix; `nix` false, nothing registered, when nix-store is not there to run (the
 * first nix-store call finds no program): that call is the probe for Nix, so a fetch that must register
 * starts one process fewer than probing with `nix-store --version` first.
 */
async function registerUnknown(root: string, closure: readonly NarInfo[], options: { nixStore?: string; signal?: AbortSignal }): Promise<{ nix: boolean; registered: string[] }> {
  const nixStore = options.nixStore ?? 'nix-store';
  const known = await knownRegistered(root, closure.map((i) => i.storePath));
  const ask = closure.filter((i) => !known.has(i.storePath));
  const paths = ask.map((i) => i.storePath);
  if (paths.length === 0) return { nix: true, registered: [] };
  const check = await runNixStore(nixStore, [...storeArgs(root), '--check-validity', '--print-invalid', ...paths], '', options.signal);
  if (check.missing) return { nix: false, registered: [] };
  if (check.code !== 0) throw new ActivationError(`nix-store --check-validity failed under ${root}: ${check.stderr.trim()}`, { root });
  const invalid = new Set(check.stdout.split('\n').filter((l) => l !== ''));
  const todo = ask.filter((i) => invalid.has(i.storePath));
  if (todo.length > 0) {
    const load = await runNixStore(nixStore, [...storeArgs(root), '--load-db'], todo.map(registrationOf).join(''), options.signal);
    if (load.code !== 0) throw new ActivationError(`nix-store --load-db failed under ${root}: ${load.stderr.trim()}`, { root });
  }
  await recordRegistered(root, paths);
  return { nix: true, registered: todo.map((i) => i.storePath) };
}

/**
 * registerWithNix when the host has Nix (`nix` true), without running nix-store at all when the root's
 * registration record vouches for every path of `closure` (a no-op fetch: Nix already holds them, and the
 * record exists only where a Nix database does). `nix` false and nothing registered without Nix (no
 * nix-store to run); nix-store's own failures throw as in registerWithNix.
 */
export async function registerIfNix(root: string, closure: readonly NarInfo[], options: { nixStore?: string; signal?: AbortSignal } = {}): Promise<{ nix: boolean; registered: string[] }> {
  if (closure.length === 0) return { nix: await hasNix(options.nixStore), registered: [] };
  return registerUnknown(root, closure, options);
}

/**
 * The NarHash Nix's database holds for each of `paths` under `root`, for the paths it has as valid (one
 * `nix-store --query --hash` per path, so an invalid one does not hide the rest). Empty when the host has no
 * Nix or `root` has no Nix database. Never throws for a path Nix does not know.
 */
export async function registeredNarHashes(root: string, paths: readonly string[], options: { nixStore?: string } = {}): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const nixStore = options.nixStore ?? 'nix-store';
  if (paths.length === 0 || !(await nixDbUnder(root)) || !(await hasNix(nixStore))) return out;
  for (const p of paths) {
    const r = await runNixStore(nixStore, [...storeArgs(root), '--query', '--hash', p], '');
    const h = r.stdout.trim();
    if (r.code === 0 && /^sha256:[0-9a-z]+$/.test(h)) out.set(p, h);
  }
  return out;
}

async function nixDbUnder(root: string): Promise<boolean> {
  return lstat(join(root, 'nix', 'var', 'nix', 'db')).then(() => true, () => false);
}
