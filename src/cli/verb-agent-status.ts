import { resolve } from 'node:path';
import { askAgent } from '../agent/control-client.js';
import type { LiveAgentStatus } from '../agent/control-protocol.js';
import { readLocalStatus, type LocalSetStatus, type LocalStatus } from '../agent/local-status.js';
import { StateError } from '../errors/index.js';
import { controlSocketFile, resolveStateDir } from '../generations/layout.js';
import { FLOTILLA_VERSION } from '../util/version.js';
import { stringOption, type Command } from './command.js';

const WAITS: Record<NonNullable<LocalSetStatus['waitsFor']>, string> = {
  batch: 'an earlier batch', 'pause-between-batches': 'the pause between batches', window: 'a maintenance window',
  dependency: 'a set it depends on', slot: 'a free rollout slot', pause: 'an operator\'s pause (flotilla resume)', suspension: 'suspended: true in the deploy repo',
};

function renderAgent(live: LiveAgentStatus | null, why: string | null, local: LocalStatus): string[] {
  if (live === null) {
    const versions = [...new Set(local.sets.map((s) => s.agentVersion))].join(', ') || 'unknown';
    return [`agent: not running (${why ?? 'no answer'}); showing the state dir as the last tick left it (written by flotilla ${versions})`];
  }
  const last = live.lastTick;
  return [
    `agent: running, pid ${live.pid}, flotilla ${live.version}, machine ${live.machine}`,
    `  tick: ${live.tickRunning ? `running since ${live.tickRunningSince ?? '?'}` : 'idle'}; last ${last === null ? 'none yet' : `${last.finishedAt} exit ${last.exitCode} (asked by ${last.triggers.join(', ')})`}${live.lastSkippedPoll ? `; last poll ${live.lastSkippedPoll} found nothing new` : ''}`,
    `  poll: ${live.poll}; next ${live.nextPoll ?? 'per the schedule'}`,
  ];
}

function renderSet(s: LocalSetStatus): string[] {
  const lines = [
    `${s.state === 'Ready' ? '●' : s.state === 'Waiting' ? '◐' : '✗'} ${s.set}  ${s.state}  ${s.reason}`,
    `    desired     ${s.desiredDigest ?? '-'}`,
    `    current     ${s.currentDigest ?? '-'}${s.generation === null ? '' : ` (generation ${s.generation})`}`,
    `    commit      ${s.commit ?? '-'}  reported ${s.reportedAt}`,
  ];
  if (s.waitsFor) lines.push(`    waits for   ${WAITS[s.waitsFor]}`);
  if (s.message) lines.push(`    ${s.message}`);
  return lines;
}

/** `flotilla agent status`: this machine's sets as the agent sees them, like `bootc status`. */
export const command: Command = {
  name: 'agent status',
  summary: 'this machine\'s sets: desired and current digest, generation, last tick, next poll, what it waits for',
  usage: 'flotilla agent status [--state DIR] [--json]',
  description: `Reads STATE/status.json (what the last tick reported per set: desired and current digest, generation,
state, reason, what a waiting set waits for) and, when the agent daemon runs, asks it over its control socket
STATE/agent.sock for its pid, version, the last tick's result, whether a tick runs and the next poll.
Without a running agent it says so and shows the state dir alone. Exit 0 when every set is Ready, 3 when one
waits, 1 when one failed or rolled back (or no tick has written a status yet).`,
  options: {
    state: { type: 'string', value: 'DIR', help: 'the agent\'s state dir (default $FLOTILLA_STATE_DIR or /var/lib/flotilla)' },
  },
  async run(input, ctx) {
    const stateDir = resolve(ctx.cwd, resolveStateDir(stringOption(input, 'state'), ctx.env));
    const local = await readLocalStatus(stateDir);
    const answer = await askAgent(controlSocketFile(stateDir), { op: 'status' }, 10_000);
    if (!('running' in answer) && !answer.ok) throw new StateError(`the agent answered: ${answer.error.code}: ${answer.error.message}`, { stateDir });
    const live = 'running' in answer || answer.op !== 'status' ? null : answer.status;
    const why = 'running' in answer ? answer.why : null;
    const exitCode = !local.found || local.sets.some((s) => s.state === 'Failed' || s.state === 'RolledBack') ? 1 : local.sets.some((s) => s.state !== 'Ready') ? 3 : 0;
    const text = [
      ...renderAgent(live, why, local),
      local.found ? `last status ${local.at ?? '?'} at commit ${local.commit?.slice(0, 12) ?? '(none)'}` : `no status yet: ${local.file} does not exist (no tick has finished on this state dir)`,
      '',
      ...local.sets.flatMap(renderSet),
    ].join('\n');
    return {
      exitCode,
      text,
      json: { stateDir, running: live !== null, ...(why !== null ? { notRunning: why } : {}), cliVersion: FLOTILLA_VERSION, agent: live, statusFile: local.file, statusAt: local.at, commit: local.commit, sets: local.sets },
    };
  },
};
