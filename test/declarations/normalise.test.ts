import { describe, expect, it } from 'vitest';
import { formatIssue, loadDeclarations, parseDuration, formatDuration, type Declarations } from '../../src/declarations/index.js';
import { CONFIG, DIGEST_A, KEY_1, KEY_2, repo, setYaml } from './fixtures.js';

function load(files: Map<string, string>): Declarations {
  const r = loadDeclarations(files);
  if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
  return r.value;
}

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['2d', 172_800_000],
    ['1m30s250ms', 90_250],
    ['0s', 0],
  ])('%s is %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([[''], ['5'], ['5 m'], ['m5'], ['1.5h'], ['-1s'], ['5min'], ['30S']])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('formats milliseconds back', () => {
    expect([0, 90_250, 5_400_000, 8 * 86_400_000].map(formatDuration)).toEqual(['0s', '1m30s250ms', '1h30m', '8d']);
  });
});

describe('normalised sets', () => {
  const config = `${CONFIG}defaults:
  platform: linux/arm64
  rollout:
    batchSize: 2
    canary: 1
    pauseBetweenBatches: 1m
    dependsOn: [db]
  activate:
    command: [./bin/activate, --quick]
    env: { A: "1", B: "default" }
    timeout: 30s
  health:
    http: { url: "http://127.0.0.1:8080/healthz" }
    retries: 7
`;

  it('applies built-in defaults to a minimal set', () => {
    const d = load(repo({ 'sets/web.yaml': setYaml() }));
    const web = d.sets.get('web');
    expect(web).toEqual({
      name: 'web',
      file: 'sets/web.yaml',
      closure: DIGEST_A,
      platform: 'linux/amd64',
      selection: { kind: 'names', names: ['a', 'b', 'c'] },
      rollout: {
        batchSize: { kind: 'count', count: 1 },
        canary: 0,
        pauseBetweenBatchesMs: 0,
        maxFailures: 0,
        windows: [],
        overrideWindows: false,
        dependsOn: [],
        leaseTtlMs: 300_000,
        maxUnavailable: { kind: 'count', count: 0 },
        unreachableAfterMs: 900_000,
      },
    });
    expect(d.config).toEqual({ stores: ['/srv/store'], publishers: { keys: [KEY_1], threshold: 1, requireDeployable: false, promoterKeys: [] }, headPointer: { enabled: false }, receivers: [] });
  });

  it('merges flotilla.yaml defaults field by field; the set wins', () => {
    const d = load(
      repo(
        {
          'sets/db.yaml': setYaml('rollout:\n  dependsOn: []\n'),
          'sets/web.yaml': `closure: ${DIGEST_A}
selector:
  matchLabels: { role: web }
rollout:
  batchSize: 25%
activate:
  env: { B: "set", C: "3" }
  drain: "lb drain web"
health:
  command: [./bin/check]
  interval: 2s
`,
        },
        config,
      ),
    );
    const web = d.sets.get('web');
    expect(web?.platform).toBe('linux/arm64');
    expect(web?.selection).toEqual({ kind: 'labels', matchLabels: { role: 'web' } });
    expect(web?.rollout).toMatchObject({ batchSize: { kind: 'percent', percent: 25 }, canary: 1, pauseBetweenBatchesMs: 60_000, dependsOn: ['db'] });
    expect(web?.activate).toEqual({
      command: ['./bin/activate', '--quick'],
      env: { A: '1', B: 'set', C: '3' },
      timeoutMs: 30_000,
      drainGraceMs: 0,
      drain: { command: ['/bin/sh', '-c', 'lb drain web'], timeoutMs: 30_000 },
    });
    expect(web?.health).toEqual({
      command: ['./bin/check'],
      http: { url: 'http://127.0.0.1:8080/healthz', expectStatus: 200 },
      initialDelayMs: 0,
      intervalMs: 2000,
      retries: 7,
      timeoutMs: 10_000,
    });
    expect(d.sets.get('db')?.rollout.dependsOn).toEqual([]);
  });

  it('keeps drain and undrain without an activation command', () => {
    const d = load(repo({ 'sets/web.yaml': setYaml('activate:\n  drain: [lb, off]\n  undrain: [lb, on]\n  drainGrace: 5s\n') }));
    expect(d.sets.get('web')?.activate).toEqual({ env: {}, timeoutMs: 300_000, drainGraceMs: 5000, drain: { command: ['lb', 'off'], timeoutMs: 300_000 }, undrain: { command: ['lb', 'on'], timeoutMs: 300_000 } });
  });

  it('passes numbers and booleans in activate.env as their text', () => {
    const d = load(repo({ 'sets/web.yaml': setYaml('activate:\n  command: ./run\n  env: { PORT: 8080, DEBUG: false, RATIO: 0.5 }\n') }));
    expect(d.sets.get('web')?.activate?.env).toEqual({ PORT: '8080', DEBUG: 'false', RATIO: '0.5' });
  });

  it('reads batchSize all, windows and the override flag', () => {
    const d = load(
      repo({
        'sets/web.yaml': setYaml(`rollout:
  batchSize: all
  overrideWindows: true
  windows:
    - days: [sat, sun]
      start: "22:30"
      duration: 1h30m
      timeZone: America/New_York
      deny: true
`),
      }),
    );
    expect(d.sets.get('web')?.rollout).toMatchObject({
      batchSize: { kind: 'all' },
      overrideWindows: true,
      windows: [{ days: ['sat', 'sun'], startMinute: 22 * 60 + 30, durationMs: 5_400_000, timeZone: 'America/New_York', deny: true }],
    });
  });

  it('normalises flotilla.yaml: threshold, deployable flag, head pointer, expires as a Date', () => {
    const d = load(
      repo({}, `stores: [/srv/a, "https://mirror.example/f"]\npublishers:\n  keys: [${KEY_1}, ${KEY_2}]\n  threshold: 2\n  requireDeployable: true\n  promoterKeys: [${KEY_2}]\nheadPointer:\n  enabled: true\n  store: https://mirror.example/f\nexpires: 2027-01-02T03:04:05Z\n`),
    );
    expect(d.config).toEqual({
      stores: ['/srv/a', 'https://mirror.example/f'],
      publishers: { keys: [KEY_1, KEY_2], threshold: 2, requireDeployable: true, promoterKeys: [KEY_2] },
      headPointer: { enabled: true, store: 'https://mirror.example/f' },
      receivers: [],
      expires: new Date('2027-01-02T03:04:05Z'),
    });
  });

  it('keeps machines and allowed_signers, and ignores unrelated files', () => {
    const d = load(
      repo({
        'machines/m1.yaml': 'labels: { role: web }\nplatform: linux/amd64\n',
        allowed_signers: 'alice@example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILQyiQjwcv1x+Vc4p60BCznjUwMScOn4ye3ipoInoFnj\n',
        'README.md': '# not YAML: ignored',
        'sets/README.md': 'ignored too',
        '.github/workflows/ci.yaml': 'not: a declaration',
      }),
    );
    expect(d.machines.get('m1')).toEqual({ name: 'm1', file: 'machines/m1.yaml', labels: { role: 'web' }, platform: 'linux/amd64' });
    expect(d.allowedSigners).toContain('alice@example.com');
    expect(d.sets.size).toBe(0);
  });

  it('orders sets and machines by name', () => {
    const d = load(repo({ 'sets/b.yaml': setYaml(), 'sets/a.yaml': setYaml(), 'machines/z.yaml': '{}\n', 'machines/y.yaml': '{}\n' }));
    expect([...d.sets.keys()]).toEqual(['a', 'b']);
    expect([...d.machines.keys()]).toEqual(['y', 'z']);
  });
});
