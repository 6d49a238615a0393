import type { AgentConfig } from '../declarations/types.js';
import { formatDuration } from '../util/duration.js';
import { nextPollAt, pollOffsetMs } from './poll-phase.js';
import { compileUtcSchedule, isUtcZone, nextUtcMatch } from './utc-schedule.js';

/**
 * The agent's poll rule and its next poll after `nowMs` (ISO), as the triggers compute it: the interval at
 * this machine's own moment (jitter may add up to `jitter` on top: the time is the earliest), or a UTC cron
 * schedule. A cron schedule in another zone gives no time (null); the rule still says when it polls. Pure.
 */
export function describeNextPoll(config: Pick<AgentConfig, 'machine' | 'repo'>, nowMs: number): { poll: string; nextPoll: string | null } {
  const { repo } = config;
  const jitter = repo.jitterMs > 0 ? ` (+ up to ${formatDuration(repo.jitterMs)} jitter)` : '';
  if (repo.pollSchedule === undefined) {
    const at = nextPollAt(nowMs, repo.pollIntervalMs, pollOffsetMs(config.machine, repo.pollIntervalMs));
    return { poll: `every ${formatDuration(repo.pollIntervalMs)}${jitter}`, nextPoll: new Date(at).toISOString() };
  }
  const poll = `cron "${repo.pollSchedule}" ${repo.timeZone}${jitter}`;
  const compiled = isUtcZone(repo.timeZone) ? compileUtcSchedule(repo.pollSchedule) : undefined;
  const at = compiled === undefined ? undefined : nextUtcMatch(compiled, nowMs);
  return { poll, nextPoll: at === undefined ? null : new Date(at).toISOString() };
}
