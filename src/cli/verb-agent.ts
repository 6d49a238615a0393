import { resolve } from 'node:path';
import { UsageError } from '../errors/index.js';
import { flag, stringOption, type Command } from './command.js';
import { tickFailure } from './tick-failure.js';
import { keepYoungGenerationSmall } from './young-generation.js';

// Only light modules are imported here: the daemon's supervisor must stay small (see src/agent/supervisor.ts).
// The tick code is loaded by `--once` (in this process) or by the daemon's tick worker (a child process).
export const command: Command = {
  name: 'agent',
  summary: 'run the reconcile agent: converge this machine on what the signed deploy repo declares',
  usage: 'flotilla agent --config FILE [--once] [--json]',
  description: `
Watches the deploy repo (timer with jitter, local checkout changes, webhook), verifies HEAD's signature and
that history only moves forward, fetches and verifies each set's closure, switches generations atomically,
activates, checks health and rolls back on failure. Until SIGTERM, which lets a running switch finish.
The daemon is a small supervisor (triggers, metrics) and a tick worker process that is kept for keepWarm
after a tick and then exits; a poll that finds the branch where the last settled tick left it runs no tick.
--once runs one tick and exits 0 (converged or nothing to do), 1 (failed or rolled back), 3 (waiting).
The daemon listens on STATE/agent.sock (0600) for \`flotilla agent reconcile\` and \`flotilla agent status\`.`,
  options: {
    config: { type: 'string', value: 'FILE', help: 'agent config (YAML); see examples/agent.yaml' },
    once: { type: 'boolean', help: 'run one tick and exit with its result' },
  },
  async run(input, ctx) {
    const file = stringOption(input, 'config');
    if (file === undefined) throw new UsageError('agent: --config FILE is required');
    // What the bin's shebang gave the daemon until it lost its V8 flag (young-generation.ts): a long-lived
    // process pays the later built-ins' compile once.
    keepYoungGenerationSmall();
    if (flag(input, 'once')) {
      const { runOnce } = await import('../agent/run-once.js');
      const once = await runOnce({ file, cwd: ctx.cwd, env: ctx.env, signal: ctx.signal });
      const failure = tickFailure(once.json, once.json.outcomes);
      return failure === undefined ? once : { ...once, failure };
    }
    const { runSupervisor } = await import('../agent/supervisor.js');
    return { exitCode: await runSupervisor({ configPath: resolve(ctx.cwd, file), shownFile: file, env: ctx.env, signal: ctx.signal }) };
  },
};
