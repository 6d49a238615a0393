import type { Command } from './command.js';

/** A verb in the table: loaded only when called, so `flotilla --help` stays fast. */
export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<Command>;
}

/**
 * The command table. Add a verb here and in its own file src/cli/verb-NAME.ts exporting `command`. A name of
 * two words (`agent reconcile`) is a sub-verb: it wins over the one-word verb when the second word matches.
 */
export const COMMANDS: CommandEntry[] = [
  { name: 'init', summary: 'create a new deploy repo (template, allowed_signers, first signed commit)', load: async () => (await import('./verb-init.js')).command },
  { name: 'validate', summary: 'check a deploy repo: schemas, rules, and the commit signature', load: async () => (await import('./verb-validate.js')).command },
  { name: 'log', summary: 'recent deploy-repo commits: signer, verified or not, sets changed', load: async () => (await import('./verb-log.js')).command },
  { name: 'keygen', summary: 'create an ed25519 publisher key pair (NAME:base64)', load: async () => (await import('./verb-keygen.js')).command },
  { name: 'push', summary: 'push a directory as a package; prints its sha256 digest', load: async () => (await import('./verb-push.js')).command },
  { name: 'sign', summary: 'add a signature to a pushed package', load: async () => (await import('./verb-sign.js')).command },
  { name: 'promote', summary: 'mark a package deployable (signed flag), or revoke that', load: async () => (await import('./verb-promote.js')).command },
  { name: 'pin', summary: 'pin a closure so store GC never collects it', load: async () => (await import('./verb-pin.js')).command },
  { name: 'unpin', summary: 'remove a pin', load: async () => (await import('./verb-unpin.js')).command },
  { name: 'pins', summary: 'list pins (GC roots)', load: async () => (await import('./verb-pins.js')).command },
  { name: 'show', summary: 'show a package: size, files, references, provenance, signers, deployable, pins', load: async () => (await import('./verb-show.js')).command },
  { name: 'verify', summary: 'verify a closure in the store: signatures and every object\'s hash', load: async () => (await import('./verb-verify.js')).command },
  { name: 'fetch', summary: 'fetch and verify a closure into a state dir, materialised read-only', load: async () => (await import('./verb-fetch.js')).command },
  { name: 'fsck', summary: 'check a machine\'s state dir: re-hash every object, package and generation; exit 1 when damaged', load: async () => (await import('./verb-fsck.js')).command },
  { name: 'diff', summary: 'compare two closures: packages and files changed, bytes to fetch', load: async () => (await import('./verb-diff.js')).command },
  { name: 'gc', summary: 'collect garbage: unreachable store objects (--store), old generations on a machine (--state)', load: async () => (await import('./verb-gc.js')).command },
  { name: 'head', summary: 'publish or show the head pointer agents poll instead of git (heads/BRANCH.json in a store)', load: async () => (await import('./verb-head.js')).command },
  { name: 'status', summary: 'show where the fleet stands (exit 0 converged, 1 failed, 3 progressing)', load: async () => (await import('./verb-status.js')).command },
  { name: 'history', summary: 'which closure ran where, when, from which commit: the verified deployment log of a set', load: async () => (await import('./verb-history.js')).command },
  { name: 'serve', summary: 'serve a live, read-only fleet page over HTTP (what status shows, updating itself)', load: async () => (await import('./verb-serve.js')).command },
  { name: 'agent', summary: 'run the reconcile agent (until SIGTERM, or --once for one tick)', load: async () => (await import('./verb-agent.js')).command },
  { name: 'agent reconcile', summary: 'make the running agent on this machine tick now, and wait for its result', load: async () => (await import('./verb-agent-reconcile.js')).command },
  { name: 'agent status', summary: 'this machine\'s sets: desired and current digest, generation, last tick, next poll, what it waits for', load: async () => (await import('./verb-agent-status.js')).command },
  { name: 'generations', summary: "list a set's generations on this machine (current, active, bad)", load: async () => (await import('./verb-generations.js')).command },
  { name: 'rollback', summary: 'switch a set back to the previously active generation (or --to N)', load: async () => (await import('./verb-rollback.js')).command },
  { name: 'clear', summary: 'forget the bad digests of a set so the agent retries them', load: async () => (await import('./verb-clear.js')).command },
  { name: 'unquarantine', summary: 'clear the quarantine of a digest in a set so its rollout may resume', load: async () => (await import('./verb-unquarantine.js')).command },
  { name: 'pause', summary: 'stop a set\'s rollouts now, without a commit: no machine of SET switches until resume', load: async () => (await import('./verb-pause.js')).command },
  { name: 'resume', summary: 'lift a pause: the machines of SET go on with their rollout at their next tick', load: async () => (await import('./verb-resume.js')).command },
  { name: 'unlock', summary: "release a machine's rollout slot lease in a set", load: async () => (await import('./verb-unlock.js')).command },
  { name: 'bump', summary: 'point a set at a new closure: a signed commit, checked against store and policy', load: async () => (await import('./verb-bump.js')).command },
  { name: 'plan', summary: 'what merging BASE..HEAD will do: closure diffs, checks, rollout schedule (PR comment)', load: async () => (await import('./verb-plan.js')).command },
  { name: 'revert', summary: 'a signed commit setting a set back to the last digest Ready on all its machines', load: async () => (await import('./verb-revert.js')).command },
  { name: 'help', summary: 'show the list of commands, or the help of one (same as COMMAND --help)', load: async () => (await import('./verb-help.js')).command },
  { name: 'version', summary: "print flotilla's version (also: --version with any command)", load: async () => (await import('./verb-version.js')).command },
  { name: 'completion', summary: 'print a shell completion script (bash, zsh or fish) for verbs and their options', load: async () => (await import('./verb-completion.js')).command },
];

/** The entry `argv` names (a two-word sub-verb first) and the arguments after its name; undefined when none. */
export function findCommand(argv: readonly string[]): { entry: CommandEntry; rest: string[] } | undefined {
  const [verb, second, ...after] = argv;
  const sub = second === undefined ? undefined : COMMANDS.find((c) => c.name === `${verb} ${second}`);
  if (sub !== undefined) return { entry: sub, rest: after };
  const entry = COMMANDS.find((c) => c.name === verb);
  return entry === undefined ? undefined : { entry, rest: argv.slice(1) };
}
