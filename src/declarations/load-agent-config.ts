import { readFile } from 'node:fs/promises';
import { validate as validateCron } from 'node-cron';
import { AGENT_DEFAULTS, MAX_STATUS_HEARTBEAT_MS, detectPlatform } from './agent-config-defaults.js';
import { decodeUtf8 } from './decode.js';
import { durationOr } from '../util/duration.js';
import { issueAt } from './issue-at.js';
import { parseYaml, type ParsedYaml } from './parse-yaml.js';
import type { RawAgentConfig } from './raw-agent-config.js';
import { sortIssues, type DeclarationIssue, type Result } from './result.js';
import { checkSchema } from './schema-check.js';
import { storeUrlProblem } from './store-url-check.js';
import { isValidTimeZone } from './time-zone.js';
import type { AgentConfig, ListenAddress } from './types.js';

function splitListen(text: string): ListenAddress {
  const i = text.lastIndexOf(':');
  return { host: text.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(text.slice(i + 1)) };
}

/** Named rules of the agent config (what the schema cannot say). */
function checkAgentRules(parsed: ParsedYaml, raw: RawAgentConfig): DeclarationIssue[] {
  const issues: DeclarationIssue[] = [];
  const t = raw.trust;
  if (!t.insecureSkipVerify && t.allowedSignersFile === undefined && (t.pgpKeysFiles ?? []).length === 0) {
    issues.push(issueAt(parsed, '/trust', 'no trusted signers: set allowedSignersFile or pgpKeysFiles (insecureSkipVerify: true only for labs)', 'trust-anchor-required', { key: true }));
  }
  if (raw.repo.timeZone !== undefined && !isValidTimeZone(raw.repo.timeZone)) {
    issues.push(issueAt(parsed, '/repo/timeZone', `unknown time zone "${raw.repo.timeZone}"`, 'unknown-time-zone'));
  }
  if (raw.repo.pollSchedule !== undefined && !validateCron(raw.repo.pollSchedule)) {
    issues.push(issueAt(parsed, '/repo/pollSchedule', `"${raw.repo.pollSchedule}" is not a valid cron expression (second minute hour day month weekday)`, 'cron-expression'));
  }
  if (raw.repo.pollSchedule !== undefined && raw.repo.pollInterval !== undefined) {
    issues.push(issueAt(parsed, '/repo/pollInterval', 'set pollInterval (each machine at its own moment) or pollSchedule (cron, wall-clock slots), not both', 'poll-either'));
  }
  if (raw.statusHeartbeat !== undefined && durationOr(raw.statusHeartbeat, 0) > MAX_STATUS_HEARTBEAT_MS) {
    issues.push(issueAt(parsed, '/statusHeartbeat', `must be at most 30m: readers keep a silent machine fresh for two of its heartbeats, and a dead machine must not look alive for longer than an hour`, 'heartbeat-max'));
  }
  if (raw.statusHeartbeat !== undefined && durationOr(raw.statusHeartbeat, 0) < 1000) {
    issues.push(issueAt(parsed, '/statusHeartbeat', 'must be at least 1s (reports declare it in whole seconds)', 'heartbeat-min'));
  }
  const urls: Array<[string, string]> = (raw.stores ?? []).map((u, i) => [`/stores/${i}`, u]);
  if (raw.coordinationStore !== undefined) urls.push(['/coordinationStore', raw.coordinationStore]);
  for (const [pointer, url] of urls) {
    const problem = storeUrlProblem(url);
    if (problem !== undefined) issues.push(issueAt(parsed, pointer, problem, 'store-url'));
  }
  for (const [pointer, text] of [['/webhook/listen', raw.webhook?.listen], ['/metrics/listen', raw.metrics?.listen]] as const) {
    if (text === undefined) continue;
    const port = splitListen(text).port;
    if (port < 1 || port > 65535) issues.push(issueAt(parsed, pointer, `port ${port} must be 1-65535`, 'listen-port'));
  }
  return issues;
}

function normaliseAgentConfig(file: string, raw: RawAgentConfig): AgentConfig {
  const cfg: AgentConfig = {
    file,
    machine: raw.machine,
    labels: raw.labels ?? {},
    platform: raw.platform ?? detectPlatform(),
    stateDir: raw.stateDir ?? AGENT_DEFAULTS.stateDir,
    repo: {
      url: raw.repo.url,
      branch: raw.repo.branch ?? AGENT_DEFAULTS.branch,
      ...(raw.repo.testingBranch === true ? { testingBranch: true as const } : {}),
      ...(raw.repo.pollSchedule !== undefined ? { pollSchedule: raw.repo.pollSchedule } : {}),
      pollIntervalMs: durationOr(raw.repo.pollInterval, AGENT_DEFAULTS.pollIntervalMs),
      timeZone: raw.repo.timeZone ?? AGENT_DEFAULTS.timeZone,
      jitterMs: durationOr(raw.repo.jitter, AGENT_DEFAULTS.jitterMs),
      auth: { ...raw.repo.auth },
      timeoutMs: durationOr(raw.repo.timeout, AGENT_DEFAULTS.repoTimeoutMs),
      safetyCheckMs: durationOr(raw.repo.safetyCheck, AGENT_DEFAULTS.safetyCheckMs),
      maxFetchBytes: raw.repo.maxFetchBytes ?? AGENT_DEFAULTS.maxFetchBytes,
    },
    trust: {
      pgpKeysFiles: raw.trust.pgpKeysFiles ?? [],
      verify: raw.trust.verify ?? 'head',
      insecureSkipVerify: raw.trust.insecureSkipVerify ?? false,
    },
    storeCredentials: raw.storeCredentials ?? [],
    notificationSecrets: Object.fromEntries(
      Object.entries(raw.notificationSecrets ?? {}).map(([name, s]) => [name, s.file !== undefined ? { file: s.file } : { env: s.env ?? '' }]),
    ),
    metrics: { enabled: raw.metrics?.enabled ?? true, listen: splitListen(raw.metrics?.listen ?? AGENT_DEFAULTS.metricsListen) },
    keepWarmMs: durationOr(raw.keepWarm, AGENT_DEFAULTS.keepWarmMs),
    nix: { root: raw.nix?.root ?? '/', register: raw.nix?.register ?? 'auto' },
    statusHeartbeatMs: durationOr(raw.statusHeartbeat, AGENT_DEFAULTS.statusHeartbeatMs),
    logLevel: raw.logLevel ?? AGENT_DEFAULTS.logLevel,
  };
  if (raw.trust.allowedSignersFile !== undefined) cfg.trust.allowedSignersFile = raw.trust.allowedSignersFile;
  if (raw.trust.minimumCommit !== undefined) cfg.trust.minimumCommit = raw.trust.minimumCommit;
  if (raw.trust.mergeAllowedSignersFile !== undefined) cfg.trust.mergeAllowedSignersFile = raw.trust.mergeAllowedSignersFile;
  if (raw.trust.mergePgpKeysFiles !== undefined) cfg.trust.mergePgpKeysFiles = raw.trust.mergePgpKeysFiles;
  if (raw.stores !== undefined) cfg.stores = raw.stores;
  if (raw.coordinationStore !== undefined) cfg.coordinationStore = raw.coordinationStore;
  if (raw.watchPath !== undefined) cfg.watchPath = raw.watchPath;
  if (raw.webhook !== undefined) cfg.webhook = { listen: splitListen(raw.webhook.listen), secretFile: raw.webhook.secretFile };
  return cfg;
}

/**
 * Parses an agent config from text (`file` names it in issues): YAML → schema → rules → AgentConfig with
 * defaults applied. Returns every issue with file:line:col; never throws for bad input.
 */
export function loadAgentConfigText(file: string, text: string | Uint8Array): Result<AgentConfig> {
  const decoded = decodeUtf8(text);
  if (decoded === undefined) return { ok: false, errors: [{ file, pointer: '', message: 'file is not valid UTF-8' }] };
  const parsed = parseYaml(file, decoded);
  if (!parsed.ok) return parsed;
  const schemaIssues = checkSchema('agent-config', parsed.value);
  if (schemaIssues.length > 0) return { ok: false, errors: sortIssues(schemaIssues) };
  const raw = parsed.value.data as RawAgentConfig;
  const ruleIssues = checkAgentRules(parsed.value, raw);
  if (ruleIssues.length > 0) return { ok: false, errors: sortIssues(ruleIssues) };
  return { ok: true, value: normaliseAgentConfig(file, raw) };
}

/** Reads and loads an agent config file. A missing or unreadable file is an issue, not a throw. */
export async function loadAgentConfig(path: string): Promise<Result<AgentConfig>> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    return { ok: false, errors: [{ file: path, pointer: '', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }] };
  }
  return loadAgentConfigText(path, bytes);
}
