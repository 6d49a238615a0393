// The one owner of names inside the state dir (after Nix's makeName/parseName): every path under STATE is
// built, and every temp or leftover name is made and parsed, here. Other modules never join a state-dir
// path segment themselves, so fetch, staging, GC and recovery cannot disagree on a name.
//
//   objects/sha256/ab/<hex>[.x]        verified objects (.x: the 0555 twin of an executable entry)
//   objects/sig/ab/<hex>.<key>        a manifest's signature by publisher key <key>, as the store had it
//   objects/tmp/<pid>-<tag>-<n>        object downloads in flight
//   store/<hex>-<name>/                materialised packages; store/.partial-<pid>-<rand>-<hex>-<name>/ in build
//   sets/SET/…                         see SetPaths
//   agent.lock                         the agent's state-dir lock (one agent per state dir)
//   agent.sock                         the running agent's control socket (agent reconcile, agent status)
//   history-key                        the machine's ed25519 key signing its deployment log (0600)
//   history-outbox.json                deployment-log events not yet appended to the store
//   notifications/outbox/<ID>.json     events this machine raised, not yet delivered (src/notify/outbox.ts)
//   notifications/sent/<ID>.json       events delivered, lost to another machine's claim, or given up on
import { randomBytes } from 'node:crypto';
import { join, sep } from 'node:path';
import { InvalidNameError } from '../errors/index.js';
import { PACKAGE_NAME_RE } from '../packages/manifest-validate.js';
import { shortClosure, type ClosureRef } from '../store/closure-ref.js';
import { digestFromHex, digestHex, type Digest } from '../store/digest.js';
import { checkName } from '../store/keys.js';

/** The state dir used when neither --state nor FLOTILLA_STATE_DIR is given. */
export const DEFAULT_STATE_DIR = '/var/lib/flotilla';

/** Picks the state dir: an explicit option, then FLOTILLA_STATE_DIR, then /var/lib/flotilla. */
export function resolveStateDir(option: string | undefined, env: NodeJS.ProcessEnv): string {
  return option ?? env['FLOTILLA_STATE_DIR'] ?? DEFAULT_STATE_DIR;
}

/**
 * Paths inside one set's directory. The layout (DESIGN.md §5):
 *   sets/SET/generations/N-<short>/   one generation (package links + origin.json)
 *   sets/SET/current                  -> generations/N-<short> (relative)
 *   sets/SET/state.json               pending switch, active generation, bad digests
 *   sets/SET/lock                     the set lock (see set-lock.ts)
 * Throws InvalidNameError when `set` cannot be one path segment.
 */
export interface SetPaths {
  stateDir: string;
  set: string;
  setDir: string;
  generationsDir: string;
  current: string;
  stateFile: string;
  lock: string;
}

/** Builds the paths of one set, validating the set name first (InvalidNameError). */
export function setPaths(stateDir: string, set: string): SetPaths {
  checkName(set, 'set name');
  const setDir = join(setsDir(stateDir), set);
  return {
    stateDir,
    set,
    setDir,
    generationsDir: join(setDir, 'generations'),
    current: join(setDir, 'current'),
    stateFile: join(setDir, 'state.json'),
    lock: join(setDir, 'lock'),
  };
}

/** Where sets live: STATE/sets. */
export function setsDir(stateDir: string): string {
  return join(stateDir, 'sets');
}

/** The deploy repo's local cache (a bare git dir the tick fetches into): STATE/repo.git. */
export function repoCacheDir(stateDir: string): string {
  return join(stateDir, 'repo.git');
}

/** The last deploy-repo commit this machine applied (git/high-water-mark.ts reads and writes it). */
export function highWaterMarkFile(stateDir: string): string {
  return join(stateDir, 'repo-high-water-mark.json');
}

/** The last `testing/<machine>` commit this machine applied (its own no-rollback mark): STATE/repo-high-water-mark.testing.json. */
export function testingHighWaterMarkFile(stateDir: string): string {
  return join(stateDir, 'repo-high-water-mark.testing.json');
}

/** This machine's statuses of the last tick, for `flotilla agent` on the machine: STATE/status.json. */
export function localStatusFile(stateDir: string): string {
  return join(stateDir, 'status.json');
}

/** What the agent learned of each coordination store's conditional writes, and when: STATE/store-probes.json. */
export function probeMemoFile(stateDir: string): string {
  return join(stateDir, 'store-probes.json');
}

/** The agent's state-dir lock file: STATE/agent.lock. */
export function agentLockFile(stateDir: string): string {
  return join(stateDir, 'agent.lock');
}

/** The running daemon's control socket (0600): STATE/agent.sock. */
export function controlSocketFile(stateDir: string): string {
  return join(stateDir, 'agent.sock');
}

/** The machine's deployment-log signing key, made at its first tick (0600): STATE/history-key. */
export function historyKeyFile(stateDir: string): string {
  return join(stateDir, 'history-key');
}

/** Deployment-log events waiting to be appended to the store, and which sets are held: STATE/history-outbox.json. */
export function historyOutboxFile(stateDir: string): string {
  return join(stateDir, 'history-outbox.json');
}

/** Which outbox of notifications: events still to deliver, or done with (kept a while so none is raised twice). */
export type OutboxBox = 'outbox' | 'sent';

/** STATE/notifications/outbox or STATE/notifications/sent. */
export function notificationBoxDir(stateDir: string, box: OutboxBox): string {
  return join(stateDir, 'notifications', box);
}

/** One event's file in a box: STATE/notifications/BOX/ID.json. Throws InvalidNameError for an id that is no name. */
export function notificationFile(stateDir: string, box: OutboxBox, id: string): string {
  return join(notificationBoxDir(stateDir, box), `${checkName(id, 'event id')}.json`);
}

/** The event id of a box's file name, or undefined for a temp or foreign file. */
export function parseNotificationFileName(name: string): string | undefined {
  // Temp files of atomic writes start with a dot; an id never does.
  if (!name.endsWith('.json') || name.startsWith('.')) return undefined;
  return name.slice(0, -'.json'.length);
}

// --- packages --------------------------------------------------------------------------------------------

/** Where fetch materialises packages: STATE/store. */
export function storeDir(stateDir: string): string {
  return join(stateDir, 'store');
}

/** Validates a package name as the manifest rule has it (it becomes one path segment); InvalidNameError. */
export function checkPackageName(name: string): string {
  if (!PACKAGE_NAME_RE.test(name)) {
    throw new InvalidNameError(`package name ${JSON.stringify(name.slice(0, 80))} must be 1-128 characters of A-Z a-z 0-9 . _ + - starting with a letter or digit`, {
      what: 'package name',
      name: name.slice(0, 128),
    });
  }
  return name;
}

/** The directory name of a materialised package: `<64 hex>-<name>`. Validates the name (InvalidNameError). */
export function packageDirName(digest: Digest, name: string): string {
  return `${digestHex(digest)}-${checkPackageName(name)}`;
}

const PACKAGE_DIR_RE = /^([0-9a-f]{64})-(.+)$/;

/** Parses `<64 hex>-<name>` (a materialised package's directory); undefined for anything else (partials, strays). */
export function parsePackageDirName(dirName: string): { digest: Digest; name: string } | undefined {
  const m = PACKAGE_DIR_RE.exec(dirName);
  if (!m?.[1] || !m[2] || !PACKAGE_NAME_RE.test(m[2])) return undefined;
  return { digest: digestFromHex(m[1]), name: m[2] };
}

const OBJECT_NAME_RE = /^([0-9a-f]{64})(\.x)?$/;

/** Parses a cached object's file name, `<hex>` or `<hex>.x` (the executable twin); undefined for anything else. */
export function parseObjectFileName(name: string): { digest: Digest; executable: boolean } | undefined {
  const m = OBJECT_NAME_RE.exec(name);
  return m?.[1] ? { digest: digestFromHex(m[1]), executable: m[2] !== undefined } : undefined;
}

/** Where a package is materialised: STATE/store/<hex>-<name>. Validates the name (InvalidNameError). */
export function packagePath(stateDir: string, digest: Digest, name: string): string {
  return join(storeDir(stateDir), packageDirName(digest, name));
}

/** The link target stored in a generation for a package: relative, so the state dir can move. */
export function packageLinkTarget(digest: Digest, name: string): string {
  return `../../../../store/${packageDirName(digest, name)}`;
}

const PARTIAL_PREFIX = '.partial-';

/** A unique name under STATE/store for a package being built by this process: `.partial-<pid>-<rand>-<hex>-<name>`. */
export function packagePartialName(digest: Digest, name: string): string {
  return `${PARTIAL_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}-${packageDirName(digest, name)}`;
}

/**
 * The pid that made a partial package name; undefined when `name` is no partial name, NaN when it is one
 * whose pid cannot be read (a leftover to remove all the same).
 */
export function partialOwner(name: string): number | undefined {
  if (!name.startsWith(PARTIAL_PREFIX)) return undefined;
  return Number(name.slice(PARTIAL_PREFIX.length).split('-')[0]);
}

// --- objects ---------------------------------------------------------------------------------------------

/** The object cache: STATE/objects. */
export function objectsRoot(stateDir: string): string {
  return join(stateDir, 'objects');
}

/** Where fetch keeps verified objects: STATE/objects/sha256. */
export function objectsDir(stateDir: string): string {
  return join(objectsRoot(stateDir), 'sha256');
}

/** Where object downloads are written before they verify: STATE/objects/tmp. */
export function objectsTempDir(stateDir: string): string {
  return join(objectsRoot(stateDir), 'tmp');
}

/** A verified object: STATE/objects/sha256/<first 2 hex>/<hex>, or `<hex>.x` for the executable twin. */
export function objectPath(stateDir: string, digest: Digest, executable = false): string {
  return objectPathIn(objectsDir(stateDir), digest, executable);
}

/**
 * objectPath with objectsDir(STATE) already known (`dir`), put together by hand: a fetch names thousands of
 * objects, and path.join normalises the whole path each time (microseconds apiece, 10-20 ms for the cache
 * names at the end of a 2,130-object fetch); `dir` is join's output and the hex needs no normalising.
 */
export function objectPathIn(dir: string, digest: Digest, executable = false): string {
  const hex = digestHex(digest);
  return `${dir}${sep}${hex.slice(0, 2)}${sep}${executable ? `${hex}.x` : hex}`;
}

/** STATE/objects/sig: the cached signatures of manifests (a tree of its own: objects/sha256 holds content only). */
export function signaturesCacheDir(stateDir: string): string {
  return join(objectsRoot(stateDir), 'sig');
}

/**
 * A manifest's cached signature by publisher key `keyName`: STATE/objects/sig/<first 2 hex>/<hex>.<key>. Not
 * under objects/sha256, where every file is named by the hash of its bytes (fsck and the crash test check
 * that); gc removes it as it removes a cache object, once only the cache links it and it is past the grace.
 * Validates the key name (InvalidNameError).
 */
export function signatureCachePath(stateDir: string, digest: Digest, keyName: string): string {
  return join(signatureShardDir(stateDir, digest), `${digestHex(digest)}.${checkName(keyName, 'key name')}`);
}

/** The directory of `digest`'s cached signatures: STATE/objects/sig/<first 2 hex>. */
export function signatureShardDir(stateDir: string, digest: Digest): string {
  return join(signaturesCacheDir(stateDir), digestHex(digest).slice(0, 2));
}

/** A tag that makes this process's object temp names unique: `<pid>-<12 hex>` (see objectTempPath). */
export function objectTempTag(): string {
  return `${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** Temp file number `n` of a cache opened with `tag`: STATE/objects/tmp/<tag>-<n base 36>. */
export function objectTempPath(stateDir: string, tag: string, n: number): string {
  return objectTempPathIn(objectsTempDir(stateDir), tag, n);
}

/** objectTempPath with objectsTempDir(STATE) already known (`dir`), put together by hand (as objectPathIn). */
export function objectTempPathIn(dir: string, tag: string, n: number): string {
  return `${dir}${sep}${tag}-${n.toString(36)}`;
}

/** The pid that made an object temp name (NaN when unreadable: a leftover to remove). */
export function objectTempOwner(name: string): number {
  return Number(name.split('-')[0]);
}

// --- generations -----------------------------------------------------------------------------------------

/** The file beside a generation's package links that says where it came from. */
export const ORIGIN_FILE = 'origin.json';

/**
 * The one link in a Nix closure's generation: `out` → `<root>/nix/store/<hash>-<name>` (absolute, like Nix's
 * own profile links), so activation finds `./out/bin/activate` whatever the store path's name.
 */
export const NIX_OUT_LINK = 'out';

/** Where a Nix store path lives under a chroot root (`/` on a real machine). */
export function nixPathUnder(root: string, storePath: string): string {
  return join(root, storePath);
}

/** A generation's directory name: `N-<first 12 hex of the closure digest, or of a Nix path's hash>`. */
export function generationDirName(n: number, closure: ClosureRef): string {
  return `${n}-${shortClosure(closure)}`;
}

const GEN_RE = /^([1-9][0-9]{0,9})-([0-9a-z]{12})$/;

/** Parses `N-<short>`; undefined for anything else (temp names, strays). */
export function parseGenerationDirName(name: string): { number: number; short: string } | undefined {
  const m = GEN_RE.exec(name);
  if (!m?.[1] || !m[2]) return undefined;
  return { number: Number(m[1]), short: m[2] };
}

/** The relative target `current` holds for a generation dir name. */
export function currentTarget(dirName: string): string {
  return `generations/${dirName}`;
}

// --- temp names --------------------------------------------------------------------------------------------

/** Prefix of every temporary name in a set dir or under store/; recovery and GC remove leftovers that carry it. */
const TEMP_PREFIX = '.tmp-';

/** A unique temp name for `what` (a generation being built, a link being swapped, a directory being deleted). */
export function tempName(what: string): string {
  return `${TEMP_PREFIX}${what}-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** True for a name made by tempName. */
export function isTempName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX);
}

const LOCK_TEMP_PREFIX = '.lock-tmp-';
const LOCK_DEAD_PREFIX = '.lock-dead-';

/** The private name a lock record is written under before it is linked into place. */
export function lockTempName(token: string): string {
  return `${LOCK_TEMP_PREFIX}${process.pid}-${token}`;
}

/** The name a breaker links a dead holder's lock to (only the first breaker of a token wins). */
export function lockDeadName(token: string): string {
  return `${LOCK_DEAD_PREFIX}${token}`;
}

/** True for the leftovers of lockTempName and lockDeadName, swept after an hour. */
export function isLockLeftover(name: string): boolean {
  return name.startsWith(LOCK_TEMP_PREFIX) || name.startsWith(LOCK_DEAD_PREFIX);
}
