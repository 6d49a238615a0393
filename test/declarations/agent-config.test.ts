import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectPlatform, formatIssue, loadAgentConfig, loadAgentConfigText } from '../../src/declarations/index.js';

const MINIMAL = `machine: web-1
repo:
  url: https://git.example/deploy.git
trust:
  allowedSignersFile: /etc/flotilla/allowed_signers
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flotilla-agent-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('agent config', () => {
  it('applies every default to a minimal config', () => {
    const r = loadAgentConfigText('agent.yaml', MINIMAL);
    expect(r).toEqual({
      ok: true,
      value: {
        file: 'agent.yaml',
        machine: 'web-1',
        labels: {},
        platform: detectPlatform(),
        stateDir: '/var/lib/flotilla',
        repo: {
          url: 'https://git.example/deploy.git',
          branch: 'main',
          pollIntervalMs: 30_000,
          timeZone: 'UTC',
          jitterMs: 0,
          auth: {},
          timeoutMs: 60_000,
          safetyCheckMs: 1_800_000,
          maxFetchBytes: 256 * 1024 * 1024,
        },
        trust: { allowedSignersFile: '/etc/flotilla/allowed_signers', pgpKeysFiles: [], verify: 'head', insecureSkipVerify: false },
        storeCredentials: [],
        metrics: { enabled: true, listen: { host: '127.0.0.1', port: 9464 } },
        keepWarmMs: 20_000,
        nix: { root: '/', register: 'auto' },
        notificationSecrets: {},
        statusHeartbeatMs: 600_000,
        logLevel: 'info',
      },
    });
  });

  it('reads statusHeartbeat as a duration (1s to 30m, see the refusals below)', () => {
    const r = loadAgentConfigText('agent.yaml', `${MINIMAL}statusHeartbeat: 1m\n`);
    expect(r.ok && r.value.statusHeartbeatMs).toBe(60_000);
  });

  it('reads keepWarm as a duration and refuses anything else', () => {
    const r = loadAgentConfigText('agent.yaml', `${MINIMAL}keepWarm: 1m30s\n`);
    expect(r.ok && r.value.keepWarmMs).toBe(90_000);
    const zero = loadAgentConfigText('agent.yaml', `${MINIMAL}keepWarm: 0s\n`);
    expect(zero.ok && zero.value.keepWarmMs).toBe(0);
    const bad = loadAgentConfigText('agent.yaml', `${MINIMAL}keepWarm: soon\n`);
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.errors.map((e) => e.pointer)).toEqual(['/keepWarm']);
  });

  it('reads a full config: listen addresses, durations, credentials by reference', () => {
    const r = loadAgentConfigText(
      'agent.yaml',
      `${MINIMAL}  verify: all
  minimumCommit: ${'c'.repeat(40)}
  mergeAllowedSignersFile: /etc/flotilla/forge_signers
labels: { role: web }
platform: linux/arm64
stateDir: /srv/flotilla
stores: [/mnt/mirror, "s3://releases/f?endpoint=http://127.0.0.1:9000"]
coordinationStore: s3://releases/f?endpoint=http://127.0.0.1:9000
storeCredentials:
  - match: s3://releases
    accessKeyIdEnv: AWS_ACCESS_KEY_ID
    secretAccessKeyEnv: AWS_SECRET_ACCESS_KEY
watchPath: /srv/deploy
webhook: { listen: "[::1]:9470", secretFile: /etc/flotilla/hook }
metrics: { enabled: false }
logLevel: debug
`.replace('repo:\n  url: https://git.example/deploy.git\n', 'repo:\n  url: /srv/deploy.git\n  branch: prod\n  pollSchedule: "0 */5 * * * *"\n  timeZone: Europe/Berlin\n  jitter: 1m30s\n'),
    );
    expect(r.ok ? [] : r.errors.map(formatIssue)).toEqual([]);
    if (!r.ok) return;
    expect(r.value.repo).toMatchObject({ url: '/srv/deploy.git', branch: 'prod', pollSchedule: '0 */5 * * * *', timeZone: 'Europe/Berlin', jitterMs: 90_000 });
    expect(r.value.trust).toMatchObject({ verify: 'all', minimumCommit: 'c'.repeat(40), mergeAllowedSignersFile: '/etc/flotilla/forge_signers' });
    expect(r.value.webhook).toEqual({ listen: { host: '::1', port: 9470 }, secretFile: '/etc/flotilla/hook' });
    expect(r.value.metrics).toEqual({ enabled: false, listen: { host: '127.0.0.1', port: 9464 } });
    expect(r.value.storeCredentials).toEqual([{ match: 's3://releases', accessKeyIdEnv: 'AWS_ACCESS_KEY_ID', secretAccessKeyEnv: 'AWS_SECRET_ACCESS_KEY' }]);
    expect(r.value).toMatchObject({ platform: 'linux/arm64', stateDir: '/srv/flotilla', watchPath: '/srv/deploy', logLevel: 'debug', labels: { role: 'web' } });
  });

  it.each([
    ['no trusted signers', MINIMAL.replace('  allowedSignersFile: /etc/flotilla/allowed_signers\n', '  verify: head\n'), ['agent.yaml:4:1 /trust no trusted signers: set allowedSignersFile or pgpKeysFiles (insecureSkipVerify: true only for labs) [trust-anchor-required]']],
    ['an inline secret', `${MINIMAL}storeCredentials:\n  - match: s3://x\n    secretAccessKey: hunter2\n`, [expect.stringMatching(/^agent\.yaml:8:5 \/storeCredentials\/0\/secretAccessKey unknown property "secretAccessKey" \(allowed: match, /) as unknown as string]],
    ['credentials in the repo URL', MINIMAL.replace('https://git.example', 'https://user:pw@git.example'), ['agent.yaml:3:8 /repo/url must be an http(s):// URL or an absolute path to a git dir']],
    ['a bad cron expression', `${MINIMAL}`.replace('repo:\n', 'repo:\n  pollSchedule: "99 * * * * *"\n'), ['agent.yaml:3:17 /repo/pollSchedule "99 * * * * *" is not a valid cron expression (second minute hour day month weekday) [cron-expression]']],
    ['a five-field cron expression', `${MINIMAL}`.replace('repo:\n', 'repo:\n  pollSchedule: "*/5 * * * *"\n'), ['agent.yaml:3:17 /repo/pollSchedule must be a cron expression with a seconds field, e.g. */30 * * * * *']],
    ['both a poll interval and a cron schedule', `${MINIMAL}`.replace('repo:\n', 'repo:\n  pollInterval: 1m\n  pollSchedule: "0 * * * * *"\n'), ['agent.yaml:3:17 /repo/pollInterval set pollInterval (each machine at its own moment) or pollSchedule (cron, wall-clock slots), not both [poll-either]']],
    ['a status heartbeat longer than readers may wait', `${MINIMAL}statusHeartbeat: 31m\n`, ['agent.yaml:6:18 /statusHeartbeat must be at most 30m: readers keep a silent machine fresh for two of its heartbeats, and a dead machine must not look alive for longer than an hour [heartbeat-max]']],
    ['a status heartbeat shorter than its whole-second declaration', `${MINIMAL}statusHeartbeat: 500ms\n`, ['agent.yaml:6:18 /statusHeartbeat must be at least 1s (reports declare it in whole seconds) [heartbeat-min]']],
    ['an unknown time zone', `${MINIMAL}`.replace('repo:\n', 'repo:\n  timeZone: Nowhere/Town\n'), ['agent.yaml:3:13 /repo/timeZone unknown time zone "Nowhere/Town" [unknown-time-zone]']],
    ['a port out of range', `${MINIMAL}metrics: { listen: "127.0.0.1:70000" }\n`, ['agent.yaml:6:20 /metrics/listen port 70000 must be 1-65535 [listen-port]']],
    ['a relative state dir', `${MINIMAL}stateDir: var/lib\n`, ['agent.yaml:6:11 /stateDir must be an absolute path']],
    ['a missing machine name', MINIMAL.replace('machine: web-1\n', ''), ["agent.yaml:1:1 must have required property 'machine'"]],
  ])('refuses %s with file:line:col', (_name, text, want) => {
    const r = loadAgentConfigText('agent.yaml', text);
    expect(r.ok ? [] : r.errors.map(formatIssue)).toEqual(want);
  });

  it('accepts insecureSkipVerify as the one explicit way to run without signers', () => {
    const r = loadAgentConfigText('agent.yaml', MINIMAL.replace('  allowedSignersFile: /etc/flotilla/allowed_signers\n', '  insecureSkipVerify: true\n'));
    expect(r.ok && r.value.trust.insecureSkipVerify).toBe(true);
  });

  it('loads from a file, and reports a missing file as an issue', async () => {
    const path = join(dir, 'agent.yaml');
    await writeFile(path, MINIMAL);
    const r = await loadAgentConfig(path);
    expect(r.ok && r.value.file).toBe(path);
    const missing = await loadAgentConfig(join(dir, 'nope.yaml'));
    expect(missing.ok ? [] : missing.errors.map(formatIssue)).toEqual([`${join(dir, 'nope.yaml')} cannot read: ENOENT`]);
  });
});
