import { resolve } from 'node:path';
import { askAgent } from '../agent/control-client.js';
import type { TickSummary } from '../agent/control-protocol.js';
import { StateError } from '../errors/index.js';
import { controlSocketFile, resolveStateDir } from '../generations/layout.js';
import { stringOption, type Command } from './command.js';
import { tickFailure } from './tick-failure.js';
import { durationOption } from './duration-option.js';

const RESULT = { 0: 'converged', 1: 'failed', 3: 'waiting' } as const;

/** The tick's result for a person: the verdict, the commit, then one line per set. */
export function renderTick(tick: TickSummary): string {
  const lines = [`tick ${RESULT[tick.exitCode]} at commit ${tick.commit?.slice(0, 12) ?? '(none)'} (${tick.startedAt} .. ${tick.finishedAt}, asked by ${tick.triggers.join(', ')})`];
  if (tick.error) lines.push(`  ${tick.error.code}: ${tick.error.message}`);
  for (const s of tick.sets) lines.push(`  ${s.set}: ${s.result} (${s.reason}) generation ${s.generation ?? '-'}${s.message ? `\n    ${s.message}` : ''}`);
  return lines.join('\n');
}

/** `flotilla agent reconcile`: the running agent ticks now; this returns when the tick ends, with its result. */
export const command: Command = {
  name: 'agent reconcile',
  summary: 'make the running agent on this machine tick now, and wait for its result',
  usage: 'flotilla agent reconcile [--state DIR] [--timeout DURATION] [--json]',
  description: `Talks to the agent daemon over its control socket STATE/agent.sock (mode 0600: root or the agent's
user only) and asks for a tick through the agent's own queue: a tick already running finishes first, then
one more runs, so the result reflects the repo and the store as they are now. Exit 0 when every set is
converged or unchanged, 1 when one failed or rolled back (or the tick failed), 3 when one waits (a batch,
a window, a pause). Fails (1) when no agent runs on the state dir: use \`flotilla agent --config FILE --once\`.`,
  options: {
    state: { type: 'string', value: 'DIR', help: 'the agent\'s state dir (default $FLOTILLA_STATE_DIR or /var/lib/flotilla)' },
    timeout: { type: 'string', value: 'DURATION', help: 'give up waiting for the tick after this long (default 1h; the tick goes on)' },
  },
  async run(input, ctx) {
    const timeoutMs = durationOption(stringOption(input, 'timeout'), '--timeout', 3_600_000);
    const stateDir = resolve(ctx.cwd, resolveStateDir(stringOption(input, 'state'), ctx.env));
    const answer = await askAgent(controlSocketFile(stateDir), { op: 'reconcile' }, timeoutMs);
    if ('running' in answer) {
      throw new StateError(`no agent is running on ${stateDir} (${answer.why}); start it, or run one tick with \`flotilla agent --config FILE --once\``, { stateDir });
    }
    if (!answer.ok) throw new StateError(`the agent could not run the tick: ${answer.error.code}: ${answer.error.message}`, { stateDir, code: answer.error.code });
    if (answer.op !== 'reconcile') throw new StateError(`the agent answered ${answer.op} to reconcile`, { stateDir });
    const failure = tickFailure(answer.tick, answer.tick.sets);
    return {
      exitCode: answer.tick.exitCode,
      text: renderTick(answer.tick),
      json: { ok: answer.tick.exitCode !== 1, result: RESULT[answer.tick.exitCode], tick: answer.tick },
      ...(failure === undefined ? {} : { failure }),
    };
  },
};
