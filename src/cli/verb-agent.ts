import { resolve } from 'node:path';
import { createAgent } from '../agent/run-agent.js';
import { createSingleFlight } from '../agent/single-flight.js';
import { startTriggers } from '../agent/triggers.js';
import { formatIssue, loadAgentConfig } from '../declarations/index.js';
import { ConfigError, UsageError } from '../errors/index.js';
import type { TickReport } from '../reconcile/tick.js';
import { createLogger } from '../util/logger.js';
import { flag, stringOption, type Command, type CommandContext } from './command.js';

function summary(report: TickReport): string {
  const lines = [`commit ${report.commit ?? '(none)'}${report.error ? `: ${report.error.code}: ${report.error.message}` : ''}`];
  for (const o of report.outcomes) {
    lines.push(`  ${o.set}: ${o.result} (${o.reason}) generation ${o.generation ?? '-'} ${o.current ?? ''}${o.message ? `\n    ${o.message}` : ''}`);
  }
  return lines.join('\n');
}

function waitForAbort(signal: AbortSignal): Promise<void> {
  return new Promise((done) => (signal.aborted ? done() : signal.addEventListener('abort', () => done(), { once: true })));
}

export const command: Command = {
  name: 'agent',
  summary: 'run the reconcile agent: converge this machine on what the signed deploy repo declares',
  usage: 'flotilla agent --config FILE [--once] [--json]',
  description: `
Watches the deploy repo (timer with jitter, local checkout changes, webhook), verifies HEAD's signature and
that history only moves forward, fetches and verifies each set's closure, switches generations atomically,
activates, checks health and rolls back on failure. Until SIGTERM, which lets a running switch finish.
--once runs one tick and exits 0 (converged or nothing to do), 1 (failed or rolled back), 3 (waiting).`,
  options: {
    config: { type: 'string', value: 'FILE', help: 'agent config (YAML); see examples/agent.yaml' },
    once: { type: 'boolean', help: 'run one tick and exit with its result' },
  },
  async run(input, ctx) {
    const file = stringOption(input, 'config');
    if (file === undefined) throw new UsageError('agent: --config FILE is required');
    const loaded = await loadAgentConfig(resolve(ctx.cwd, file));
    if (!loaded.ok) throw new ConfigError(`invalid agent config:\n${loaded.errors.map(formatIssue).join('\n')}`, { file, issues: loaded.errors.map(formatIssue) });
    const config = loaded.value;
    const log = createLogger({ level: ctx.env['FLOTILLA_LOG_LEVEL'] ?? config.logLevel, name: config.machine });
    const agent = await createAgent({ config, log, signal: ctx.signal });
    try {
      if (flag(input, 'once')) {
        const report = await agent.tick();
        return { exitCode: report.exitCode, text: summary(report), json: report };
      }
      return await runDaemon(agent, ctx, log);
    } finally {
      await agent.close();
    }
  },
};

async function runDaemon(agent: Awaited<ReturnType<typeof createAgent>>, ctx: CommandContext, log: ReturnType<typeof createLogger>): Promise<{ exitCode: 0 }> {
  const queue = createSingleFlight(() => agent.tick(), { onError: (err) => log.error({ err: (err as Error).message }, 'tick crashed') });
  const triggers = await startTriggers({
    config: agent.config,
    queue,
    metrics: agent.metrics,
    log,
  });
  for (const s of triggers.servers) log.info({ address: s.url }, 'listening');
  void queue.request('start');
  await waitForAbort(ctx.signal);
  log.info('stopping: letting the running tick finish');
  await triggers.stop();
  return { exitCode: 0 };
}
