// `flotilla agent --once`: one tick in this process, as before the daemon's supervisor/worker split.
import { resolve } from 'node:path';
import { formatIssue, loadAgentConfig } from '../declarations/index.js';
import { ConfigError } from '../errors/index.js';
import type { TickReport } from '../reconcile/tick.js';
import { createLogger } from '../util/logger.js';
import { createAgent } from './run-agent.js';

function summary(report: TickReport): string {
  const lines = [`commit ${report.commit ?? '(none)'}${report.error ? `: ${report.error.code}: ${report.error.message}` : ''}`];
  for (const o of report.outcomes) {
    lines.push(`  ${o.set}: ${o.result} (${o.reason}) generation ${o.generation ?? '-'} ${o.current ?? ''}${o.message ? `\n    ${o.message}` : ''}`);
  }
  return lines.join('\n');
}

/**
 * Loads the config (ConfigError listing every issue), builds the agent, runs one tick and closes it.
 * Resolves with the tick's exit code (0 converged or nothing to do, 1 failed or rolled back, 3 waiting),
 * a text summary and the report.
 */
export async function runOnce(o: { file: string; cwd: string; env: NodeJS.ProcessEnv; signal: AbortSignal }): Promise<{ exitCode: 0 | 1 | 3; text: string; json: TickReport }> {
  const loaded = await loadAgentConfig(resolve(o.cwd, o.file));
  if (!loaded.ok) throw new ConfigError(`invalid agent config:\n${loaded.errors.map(formatIssue).join('\n')}`, { file: o.file, issues: loaded.errors.map(formatIssue) });
  const config = loaded.value;
  const log = createLogger({ level: o.env['FLOTILLA_LOG_LEVEL'] ?? config.logLevel, name: config.machine });
  const agent = await createAgent({ config, log, signal: o.signal });
  try {
    const report = await agent.tick();
    // The status is already written: delivery here only delays this process's exit, never the rollout.
    await agent.settleNotifications();
    return { exitCode: report.exitCode, text: summary(report), json: report };
  } finally {
    await agent.close();
  }
}
