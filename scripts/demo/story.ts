import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Machine } from './fleet.js';
import type { Narrator } from './narrator.js';
import { getText, quarantinedBy, readReports, waitUntil } from './observe.js';
import { findOnPath } from './prerequisites.js';
import { webSetYaml, type DemoTimings } from './set-yaml.js';
import type { Shell } from './shell.js';
import type { DemoWorld } from './world.js';

/** What the rollout steps saw; the demo's test reads this from the --report file. */
export interface StoryOutcome {
  /** Each machine's answer after the v1 rollout. */
  converged: Record<string, string>;
  /** The canary that rolled back v2, and the machines the quarantine names. */
  rolledBack: { canary: string; quarantinedBy: string[]; othersOnV1: boolean };
  /** Each machine's answer after the revert. */
  reverted: Record<string, string>;
}

const SET = 'web';

/** Everything the rollout steps need. */
export interface StoryContext {
  world: DemoWorld;
  n: Narrator;
  sh: Shell;
  timings: DemoTimings;
  waitMs: number;
}

const git = (sh: Shell, ...args: string[]): Promise<unknown> => sh.run('git', ['-C', 'deploy', ...args]);

/** Commits the first sets/web.yaml on the current branch with plain signed git (bump changes an existing set). */
async function commitSetFile(c: StoryContext, closure: string, message: string, show = false): Promise<void> {
  const yaml = webSetYaml(closure, c.world.platform, c.world.machines.map((m) => m.name), c.timings);
  await mkdir(join(c.world.repo, 'sets'), { recursive: true });
  await writeFile(join(c.world.repo, 'sets', `${SET}.yaml`), yaml);
  if (show) c.n.file(`deploy/sets/${SET}.yaml`, yaml);
  await git(c.sh, 'add', `sets/${SET}.yaml`);
  await git(c.sh, 'commit', '-q', '-S', '-m', message);
}

/** Shows what merging `branch` will do: the rollout plan a reviewer reads on the pull request. */
async function showPlan(c: StoryContext, branch: string): Promise<void> {
  await c.sh.flotilla(['plan', 'main', branch, '--repo', 'deploy', '--store', 'store', '--trust-file', 'trust/allowed_signers'], { codes: [0, 1] });
}

/** A change reviewed like a pull request: a branch, the plan, then a fast-forward merge the agents see. */
async function proposeAndMerge(c: StoryContext, branch: string, change: () => Promise<void>): Promise<void> {
  await git(c.sh, 'switch', '-q', '-c', branch);
  await change();
  await showPlan(c, branch);
  c.n.say('Looks right: merge it. The agents follow main.');
  await git(c.sh, 'switch', '-q', 'main');
  await git(c.sh, 'merge', '-q', '--ff-only', branch);
}

async function showStatus(c: StoryContext, codes: number[]): Promise<void> {
  await c.sh.flotilla(['status', '--repo', 'deploy', '--store', 'store'], { codes });
}

async function curlAll(c: StoryContext): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const curl = findOnPath('curl');
  for (const m of c.world.machines) {
    const url = `http://127.0.0.1:${m.port}/`;
    if (curl) {
      const r = await c.sh.run('curl', ['-s', '--max-time', '3', url], { codes: [0, 7, 28, 52, 56] });
      out[m.name] = r.code === 0 ? r.stdout.trim() : `(no answer: curl exit ${r.code})`;
    } else {
      c.n.command(`# GET ${url}  (no curl on this machine: Node's fetch)`);
      out[m.name] = await getText(url);
      c.n.output(out[m.name] ?? '');
    }
  }
  return out;
}

/** Waits until every machine reports Ready on `digest`. */
async function waitAllReady(c: StoryContext, digest: string): Promise<void> {
  c.n.say(`Waiting until web-1..web-3 all report Ready on ${digest.slice(0, 19)}…`);
  await waitUntil(`every machine is Ready on ${digest}`, c.waitMs, async () => {
    const reports = await readReports(c.world.store, SET);
    return c.world.machines.every((m) => reports.get(m.name)?.currentDigest === digest && reports.get(m.name)?.state === 'Ready') ? true : undefined;
  });
}

async function rolloutV1(c: StoryContext): Promise<Record<string, string>> {
  c.n.step('Roll out v1: declare the web set on a branch, look at the plan, merge');
  await proposeAndMerge(c, 'web-v1', () => commitSetFile(c, c.world.v1, 'web: deploy v1', true));
  await waitAllReady(c, c.world.v1);
  await showStatus(c, [0]);
  return curlAll(c);
}

async function bumpTo(c: StoryContext, digest: string): Promise<void> {
  await c.sh.flotilla(['bump', SET, digest, '--repo', 'deploy', '--sign-key', 'keys/release']);
}

async function rolloutV2(c: StoryContext): Promise<StoryOutcome['rolledBack']> {
  c.n.step('Roll out v2, whose health check fails');
  await proposeAndMerge(c, 'web-v2', () => bumpTo(c, c.world.v2));
  c.n.say('The canary switches first, fails its health check, rolls back to v1 and quarantines v2 in the store.');
  const by = await waitUntil('v2 is quarantined', c.waitMs, async () => (await quarantinedBy(c.world.store, SET, c.world.v2)) ?? undefined);
  const canary = by[0] ?? '';
  await waitUntil(`${canary} reports RolledBack`, c.waitMs, async () => ((await readReports(c.world.store, SET)).get(canary)?.state === 'RolledBack' ? true : undefined));
  // The others must have seen v2 as desired and stopped short of it (Waiting), still running v1.
  const others = c.world.machines.filter((m) => m.name !== canary);
  const reports = await waitUntil('the other machines wait on the quarantine', c.waitMs, async () => {
    const r = await readReports(c.world.store, SET);
    return others.every((m) => r.get(m.name)?.desiredDigest === c.world.v2 && r.get(m.name)?.state === 'Waiting') ? r : undefined;
  });
  const othersOnV1 = others.every((m) => reports.get(m.name)?.currentDigest === c.world.v1);
  c.n.say(`${canary} was the canary; the others stayed on v1: the line stopped.`);
  await showStatus(c, [1]);
  await c.sh.flotilla(['generations', SET, '--state', `machines/${canary}/state`]);
  await curlAll(c);
  return { canary, quarantinedBy: by, othersOnV1 };
}

async function revertToV1(c: StoryContext): Promise<Record<string, string>> {
  c.n.step('Revert: put git back on the last good digest');
  // Revert finds the newest earlier closure every machine runs healthily (here v1: the canary rolled back
  // to it, the others wait on it) and commits it, signed.
  await c.sh.flotilla(['revert', SET, '--repo', 'deploy', '--sign-key', 'keys/release']);
  await git(c.sh, 'log', '--oneline', '-4');
  await waitAllReady(c, c.world.v1);
  await showStatus(c, [0]);
  const answers = await curlAll(c);
  c.n.say('Converged again. The v2 quarantine and the canary\'s slot stay in the store as the record of what happened;');
  c.n.say('`flotilla unquarantine` and `flotilla unlock` clear them (docs/operations.md, "Unstick a rollout").');
  return answers;
}

/** Steps 6–8 with the fleet running: v1 converges, v2 is stopped by the canary, the revert heals it. */
export async function runStory(c: StoryContext): Promise<StoryOutcome> {
  const converged = await rolloutV1(c);
  const rolledBack = await rolloutV2(c);
  const reverted = await revertToV1(c);
  return { converged, rolledBack, reverted };
}

/** The last `lines` lines of a machine's agent log (for a failure report). */
export async function tailLog(m: Machine, lines = 8): Promise<string> {
  const text = await readFile(m.log, 'utf8').catch(() => '');
  return text.trim().split('\n').slice(-lines).join('\n');
}
