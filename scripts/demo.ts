/**
 * `npm run demo`: the whole Flotilla flow on one machine, narrated with the real commands it runs.
 * Options: --fast (shorter pauses, for the test), --keep (leave the fleet running), --report FILE (write
 * the outcome as JSON), --help. Leaves nothing running and removes its temp dir unless --keep.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { servicePids, startAgents, stopServices, type Fleet } from './demo/fleet.js';
import { leaveFleetRunning } from './demo/keep.js';
import { createNarrator } from './demo/narrator.js';
import { createShell } from './demo/shell.js';
import { runStory, tailLog, type StoryOutcome } from './demo/story.js';
import { missingPrerequisites } from './demo/prerequisites.js';
import { createDemoWorld, type DemoWorld } from './demo/world.js';

const HELP = `usage: npm run demo [-- --fast] [-- --keep] [-- --report FILE]

Builds a tiny web service in two versions, pushes both to a directory store, creates a signed deploy repo,
starts three agents (web-1..web-3), rolls out v1, rolls out a broken v2 (the canary rolls back and the
rollout stops), reverts, and shows each step's real command.

  --fast         shorter pauses (used by the test)
  --keep         leave the fleet running and print how to poke and stop it
  --report FILE  write the outcome as JSON to FILE`;

/** The JSON written by --report. */
export interface DemoReport {
  ok: boolean;
  error?: string;
  root: string;
  kept: boolean;
  seconds: number;
  outcome?: StoryOutcome;
  agentPids: number[];
  servicePids: number[];
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { fast: { type: 'boolean' }, keep: { type: 'boolean' }, report: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const missing = missingPrerequisites();
  if (missing !== null) {
    process.stderr.write(`demo: ${missing}\n`);
    return 1;
  }
  const started = Date.now();
  const cliPath = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'flotilla.js');
  const root = await mkdtemp(join(tmpdir(), 'flotilla-demo-'));
  const n = createNarrator(process.stdout, process.stdout.isTTY === true && process.env['NO_COLOR'] === undefined);
  // The set-up and the story talk through a fork that Ctrl-C mutes; the clean-up keeps talking through `n`.
  const storyN = n.fork();
  const sh = createShell(storyN, cliPath, root);
  const keep = values.keep === true;
  let world: DemoWorld | undefined;
  let fleet: Fleet | undefined;
  const report: DemoReport = { ok: false, root, kept: keep, seconds: 0, agentPids: [], servicePids: [] };
  // Ctrl-C: stop waiting for the story and clean up at once (the services run in their own sessions, so
  // only the demo can stop them).
  let interrupted = false;
  let onInterrupt = (): void => undefined;
  const interruption = new Promise<never>((_, fail) => {
    onInterrupt = (): void => {
      interrupted = true;
      storyN.mute();
      sh.halt();
      fail(new Error('interrupted'));
    };
  });
  interruption.catch(() => undefined);
  process.once('SIGINT', onInterrupt);
  process.once('SIGTERM', onInterrupt);
  n.say(`Flotilla demo in ${root}  (flotilla = node ${cliPath})`);
  try {
    world = await Promise.race([createDemoWorld(root, storyN, sh), interruption]);
    n.step('Start three machines: one agent process each, polling the repo every second');
    fleet = startAgents(cliPath, world.machines, keep);
    report.agentPids = [...fleet.pids().values()];
    for (const [name, pid] of fleet.pids()) n.say(`  ${name}: flotilla agent --config machines/${name}/agent.json  (pid ${pid})`);
    const timings = values.fast ? { pauseBetweenBatches: '0s', healthDelay: '200ms' } : { pauseBetweenBatches: '1s', healthDelay: '300ms' };
    report.outcome = await Promise.race([runStory({ world, n: storyN, sh, timings, waitMs: 60_000 }), interruption]);
    report.ok = true;
  } catch (err) {
    report.error = (err as Error).message;
    n.say(`\ndemo failed: ${report.error}`);
    if (!interrupted) for (const m of world?.machines ?? []) n.file(`machines/${m.name}/agent.log (last lines)`, await tailLog(m));
  } finally {
    report.servicePids = world ? (await Promise.all(world.machines.map(servicePids))).flat() : [];
    if (keep && report.ok && world) {
      await leaveFleetRunning(root, cliPath, world.machines, report.agentPids, n);
    } else {
      n.step('Clean up: stop the agents and the services, remove the temp dir');
      await fleet?.stop();
      if (world) await stopServices(world.machines, root);
      await rm(root, { recursive: true, force: true });
    }
    process.removeListener('SIGINT', onInterrupt);
    process.removeListener('SIGTERM', onInterrupt);
  }
  report.seconds = Math.round((Date.now() - started) / 100) / 10;
  n.say(report.ok ? `\nDone in ${report.seconds} s.` : `\nFailed after ${report.seconds} s.`);
  if (values.report) await writeFile(values.report, `${JSON.stringify(report, null, 2)}\n`);
  return interrupted ? 130 : report.ok ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
    // After an interruption the abandoned story may still have a command in flight: do not wait for it.
    if (code === 130) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`demo: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
