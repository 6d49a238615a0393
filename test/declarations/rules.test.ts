import { describe, expect, it } from 'vitest';
import { formatIssue, loadDeclarations, RULES } from '../../src/declarations/index.js';
import { CONFIG, DIGEST_A, KEY_1, KEY_2, repo, setYaml } from './fixtures.js';

interface RuleCase {
  rule: string;
  name: string;
  files: Map<string, string>;
  /** formatIssue output of every issue expected. */
  want: string[];
}

const cfg = (publishers: string, extra = ''): string => `stores:\n  - /srv/store\npublishers:\n${publishers}${extra}`;
const win = (start: string, duration: string, tz: string, extra = ''): string =>
  `    - start: "${start}"\n      duration: ${duration}\n      timeZone: ${tz}\n${extra}`;

const NIX_PATH = '/nix/store/0c7pq7pk4fc1n0in4i4pk1ggfyg3ga8p-app-1.0';
const NIX_KEY = 'cache.example.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=';
const nixSet = (): string => `closure: ${NIX_PATH}\nplatform: linux/amd64\nmachines: [a]\n`;
const NIX_CONFIG = `stores:\n  - nix+file:///srv/nix-cache\npublishers:\n  keys:\n    - ${KEY_1}\nnix:\n  trustedKeys:\n    - ${NIX_KEY}\n`;

const RECEIVERS = `notifications:\n  receivers:\n    - { name: ops, type: webhook, url: "https://hooks.example.com/f", secret: ops-hook }\n    - { name: ops, type: command, command: [/bin/true], url: "https://x.example.com/" }\n`;

const CASES: RuleCase[] = [
  {
    rule: 'receiver',
    name: 'a receiver name used twice, and a command receiver with a url',
    files: repo({ 'sets/web.yaml': setYaml() }, `${CONFIG}${RECEIVERS}`),
    want: [
      'flotilla.yaml:9:15 /notifications/receivers/1/name receiver name "ops" appears twice [receiver]',
      'flotilla.yaml:9:62 /notifications/receivers/1/url a command receiver has no url: remove it or set type: webhook [receiver]',
    ],
  },
  {
    rule: 'closure-store-kind',
    name: 'a Nix store path with only a Flotilla store',
    files: repo({ 'sets/app.yaml': nixSet() }, `${CONFIG}nix:\n  trustedKeys:\n    - ${NIX_KEY}\n`),
    want: ['sets/app.yaml:1:10 /closure a Nix store path needs a Nix binary cache (nix+file:///..., nix+https://... or nix+s3://...) in flotilla.yaml stores, and there is none [closure-store-kind]'],
  },
  {
    rule: 'closure-store-kind',
    name: 'a digest with only a Nix cache',
    files: repo({ 'sets/web.yaml': setYaml() }, NIX_CONFIG),
    want: ['sets/web.yaml:1:10 /closure a closure digest needs a Flotilla store (a path, file:///..., s3://... or https://...) in flotilla.yaml stores, and there is none [closure-store-kind]'],
  },
  {
    rule: 'nix-keys-required',
    name: 'a Nix store path without trusted Nix keys',
    files: repo({ 'sets/app.yaml': nixSet() }, `${CONFIG}  - nix+file:///srv/nix-cache\n`.replace('publishers:', 'XX').replace('  - nix+file:///srv/nix-cache\n', '').replace('XX', '  - nix+file:///srv/nix-cache\npublishers:')),
    want: ['sets/app.yaml:1:10 /closure a Nix store path needs trusted Nix signing keys: add nix: { trustedKeys: ["NAME:BASE64"] } to flotilla.yaml [nix-keys-required]'],
  },
  {
    rule: 'nix-key',
    name: 'a non-canonical Nix key and a threshold past the keys',
    files: repo({ 'sets/app.yaml': nixSet() }, `${NIX_CONFIG.replace(NIX_KEY, NIX_KEY.replace('jY=', 'jZ='))}  threshold: 2\n`),
    want: [
      'flotilla.yaml:8:7 /nix/trustedKeys/0 key is not canonical base64 of a 32-byte ed25519 public key (copy the line `nix key convert-secret-to-public` prints) [nix-key]',
      'flotilla.yaml:9:14 /nix/threshold threshold 2 is more than the 1 trusted Nix key(s) [nix-key]',
    ],
  },
  {
    rule: 'set-name-matches-file',
    name: 'name differs from the file name',
    files: repo({ 'sets/web.yaml': setYaml('name: api\n') }),
    want: ['sets/web.yaml:4:7 /name name "api" must equal the file name "web" [set-name-matches-file]'],
  },
  {
    rule: 'duplicate-set-name',
    name: 'web.yaml and web.yml',
    files: repo({ 'sets/web.yaml': setYaml(), 'sets/web.yml': setYaml() }),
    want: ['sets/web.yml:1:1 set "web" is also declared by sets/web.yaml [duplicate-set-name]'],
  },
  {
    rule: 'duplicate-set-name',
    name: 'names equal but for case',
    files: repo({ 'sets/web.yaml': setYaml(), 'sets/Web.yaml': setYaml() }),
    want: ['sets/web.yaml:1:1 set "web" is also declared by sets/Web.yaml [duplicate-set-name]'],
  },
  {
    rule: 'machines-or-selector',
    name: 'both machines and selector',
    files: repo({ 'sets/web.yaml': setYaml('selector:\n  matchLabels: { role: web }\n') }),
    want: ['sets/web.yaml:4:1 /selector give machines or selector, not both [machines-or-selector]'],
  },
  {
    rule: 'machines-or-selector',
    name: 'neither machines nor selector',
    files: repo({ 'sets/web.yaml': `closure: ${DIGEST_A}\nplatform: linux/amd64\n` }),
    want: ['sets/web.yaml:1:1 give machines (names) or selector (labels) [machines-or-selector]'],
  },
  {
    rule: 'platform-required',
    name: 'no platform in the set or the defaults',
    files: repo({ 'sets/web.yaml': `closure: ${DIGEST_A}\nmachines: [a]\n` }),
    want: ['sets/web.yaml:1:1 platform is missing: set platform (e.g. linux/amd64) here or defaults.platform in flotilla.yaml [platform-required]'],
  },
  {
    rule: 'percent-in-range',
    name: 'batchSize over 100%',
    files: repo({ 'sets/web.yaml': setYaml('rollout:\n  batchSize: 150%\n') }),
    want: ['sets/web.yaml:5:14 /rollout/batchSize batchSize 150% must be between 1% and 100% [percent-in-range]'],
  },
  {
    rule: 'percent-in-range',
    name: 'batchSize 0%',
    files: repo({ 'sets/web.yaml': setYaml('rollout:\n  batchSize: 0%\n') }),
    want: ['sets/web.yaml:5:14 /rollout/batchSize batchSize 0% must be between 1% and 100% [percent-in-range]'],
  },
  {
    rule: 'max-unavailable-in-range',
    name: 'maxUnavailable over 100%',
    files: repo({ 'sets/web.yaml': setYaml('rollout:\n  maxUnavailable: 120%\n') }),
    want: ['sets/web.yaml:5:19 /rollout/maxUnavailable maxUnavailable 120% must be between 0% and 100% [max-unavailable-in-range]'],
  },
  {
    rule: 'unreachable-after-positive',
    name: 'unreachableAfter 0s',
    files: repo({ 'sets/web.yaml': setYaml('rollout:\n  unreachableAfter: 0s\n') }),
    want: ['sets/web.yaml:5:21 /rollout/unreachableAfter unreachableAfter must be longer than 0 (a machine counts as unreachable only past it and past two of its own status heartbeats) [unreachable-after-positive]'],
  },
  {
    rule: 'canary-within-set',
    name: 'canary larger than the listed machines',
    files: repo({ 'sets/web.yaml': setYaml('rollout:\n  canary: 4\n') }),
    want: ['sets/web.yaml:5:11 /rollout/canary canary 4 is larger than the set (3 machines) [canary-within-set]'],
  },
  {
    rule: 'canary-within-set',
    name: 'canary from the defaults larger than a one-machine set',
    files: repo({ 'sets/web.yaml': setYaml('', '[a]') }, `${CONFIG}defaults:\n  rollout:\n    canary: 2\n`),
    want: ['sets/web.yaml:1:1 canary 2 is larger than the set (1 machine) [canary-within-set]'],
  },
  {
    rule: 'health-has-check',
    name: 'a health block without command or http',
    files: repo({ 'sets/web.yaml': setYaml('health:\n  retries: 2\n') }),
    want: ['sets/web.yaml:4:1 /health health needs a command or an http check (here or in defaults.health) [health-has-check]'],
  },
  {
    rule: 'activate-has-command',
    name: 'an activate block without a command',
    files: repo({ 'sets/web.yaml': setYaml('activate:\n  timeout: 1m\n') }),
    want: ['sets/web.yaml:4:1 /activate activate needs a command, drain or undrain (here or in defaults.activate) [activate-has-command]'],
  },
  {
    rule: 'body-match-regex',
    name: 'bodyMatch that does not compile',
    files: repo({ 'sets/web.yaml': setYaml('health:\n  http:\n    url: http://127.0.0.1/\n    bodyMatch: "(ok"\n') }),
    want: ['sets/web.yaml:7:16 /health/http/bodyMatch bodyMatch is not a valid regular expression: Invalid regular expression: /(ok/u: Unterminated group [body-match-regex]'],
  },
  {
    rule: 'dependsOn-unknown',
    name: 'depends on a set that does not exist',
    files: repo({ 'sets/web.yaml': setYaml('rollout:\n  dependsOn: [api, db]\n'), 'sets/api.yaml': setYaml() }),
    want: ['sets/web.yaml:5:20 /rollout/dependsOn/1 depends on unknown set "db" [dependsOn-unknown]'],
  },
  {
    rule: 'dependsOn-cycle',
    name: 'a set depending on itself',
    files: repo({ 'sets/web.yaml': setYaml('rollout:\n  dependsOn: [web]\n') }),
    want: ['sets/web.yaml:5:15 /rollout/dependsOn/0 dependsOn forms a cycle: web -> web [dependsOn-cycle]'],
  },
  {
    rule: 'dependsOn-cycle',
    name: 'a cycle through three sets',
    files: repo({
      'sets/a.yaml': setYaml('rollout:\n  dependsOn: [b]\n'),
      'sets/b.yaml': setYaml('rollout:\n  dependsOn: [c]\n'),
      'sets/c.yaml': setYaml('rollout:\n  dependsOn: [a]\n'),
    }),
    want: ['sets/c.yaml:5:15 /rollout/dependsOn/0 dependsOn forms a cycle: a -> b -> c -> a [dependsOn-cycle]'],
  },
  {
    rule: 'service-path-conflict',
    name: 'two sets claim /srv/app on machine b (listed by name)',
    files: repo({ 'sets/one.yaml': setYaml('servicePath: /srv/app\n', '[a, b]'), 'sets/two.yaml': setYaml('servicePath: /srv/app\n', '[b, c]') }),
    want: ['sets/two.yaml:4:14 /servicePath machine "b" is already claimed for /srv/app by set "one" [service-path-conflict]'],
  },
  {
    rule: 'service-path-conflict',
    name: 'a selector set and a listed set meet on an inventory machine',
    files: repo({
      'sets/one.yaml': setYaml('servicePath: /srv/app\n', '[m1]'),
      'sets/two.yaml': `closure: ${DIGEST_A}\nplatform: linux/amd64\nselector:\n  matchLabels: { role: web }\nservicePath: /srv/app\n`,
      'machines/m1.yaml': 'labels: { role: web }\n',
    }),
    want: ['sets/two.yaml:5:14 /servicePath machine "m1" is already claimed for /srv/app by set "one" [service-path-conflict]'],
  },
  {
    rule: 'unknown-time-zone',
    name: 'a window in a time zone that does not exist',
    files: repo({ 'sets/web.yaml': setYaml(`rollout:\n  windows:\n${win('06:00', '1h', 'Mars/Olympus_Mons')}`) }),
    want: ['sets/web.yaml:8:17 /rollout/windows/0/timeZone unknown time zone "Mars/Olympus_Mons" (use an IANA name such as Europe/Berlin or UTC) [unknown-time-zone]'],
  },
  {
    rule: 'windows-never-open',
    name: 'the only allow window is on no day the deny window leaves free',
    files: repo({
      'sets/web.yaml': setYaml(`rollout:\n  windows:\n${win('06:00', '1h', 'UTC', '      days: [sat]\n')}${win('00:00', '24h', 'UTC', '      days: [sat]\n      deny: true\n')}`),
    }),
    want: ['sets/web.yaml:6:5 /rollout/windows these windows never open: no minute of the week is inside an allow window and outside every deny window [windows-never-open]'],
  },
  {
    rule: 'window-duration',
    name: 'a window of 0s',
    files: repo({ 'sets/web.yaml': setYaml(`rollout:\n  windows:\n${win('06:00', '0s', 'UTC')}`) }),
    want: ['sets/web.yaml:7:17 /rollout/windows/0/duration window duration 0s must be whole minutes from 1m to 7d [window-duration]'],
  },
  {
    rule: 'window-duration',
    name: 'a window of 90s',
    files: repo({ 'sets/web.yaml': setYaml(`rollout:\n  windows:\n${win('06:00', '90s', 'UTC')}`) }),
    want: ['sets/web.yaml:7:17 /rollout/windows/0/duration window duration 1m30s must be whole minutes from 1m to 7d [window-duration]'],
  },
  {
    rule: 'windows-never-open',
    name: 'a deny window in another time zone covers the allow window',
    files: repo({
      'sets/web.yaml': setYaml(`rollout:\n  windows:\n${win('09:00', '2h', 'Europe/Berlin')}${win('06:00', '6h', 'UTC', '      deny: true\n')}`),
    }),
    want: ['sets/web.yaml:6:5 /rollout/windows these windows never open: no minute of the week is inside an allow window and outside every deny window [windows-never-open]'],
  },
  {
    rule: 'windows-never-open',
    name: 'a deny window of 24h on every day',
    files: repo({ 'sets/web.yaml': setYaml(`rollout:\n  windows:\n${win('12:00', '24h', 'Asia/Tokyo', '      deny: true\n')}`) }),
    want: ['sets/web.yaml:6:5 /rollout/windows these windows never open: no minute of the week is inside an allow window and outside every deny window [windows-never-open]'],
  },
  {
    rule: 'window-duration',
    name: 'a window longer than a week',
    files: repo({ 'sets/web.yaml': setYaml(`rollout:\n  windows:\n${win('06:00', '8d', 'UTC')}`) }),
    want: ['sets/web.yaml:7:17 /rollout/windows/0/duration window duration 8d must be whole minutes from 1m to 7d [window-duration]'],
  },
  {
    rule: 'threshold-exceeds-keys',
    name: 'threshold 2 with one key',
    files: repo({}, cfg(`  keys: [${KEY_1}]\n  threshold: 2\n`)),
    want: ['flotilla.yaml:5:14 /publishers/threshold threshold 2 is more than the 1 trusted key(s) [threshold-exceeds-keys]'],
  },
  {
    rule: 'promoter-keys-required',
    name: 'requireDeployable without promoter keys',
    files: repo({}, cfg(`  keys: [${KEY_1}]\n  requireDeployable: true\n`)),
    want: ['flotilla.yaml:5:22 /publishers/requireDeployable requireDeployable is true but publishers.promoterKeys is empty [promoter-keys-required]'],
  },
  {
    rule: 'duplicate-key-name',
    name: 'two keys with one name',
    files: repo({}, cfg(`  keys:\n    - ${KEY_1}\n    - ci-1:${KEY_2.split(':')[1] ?? ''}\n`)),
    want: ['flotilla.yaml:6:7 /publishers/keys/1 key name "ci-1" appears twice [duplicate-key-name]'],
  },
  {
    rule: 'publisher-key',
    name: 'non-canonical base64',
    files: repo({}, cfg('  keys:\n    - ci-1:azSGjj7oBOpo/G28JEr5DdOHKAmB/GVYjoX5G17PmYp=\n')),
    want: ['flotilla.yaml:5:7 /publishers/keys/0 key is not canonical base64 of a 32-byte ed25519 public key [publisher-key]'],
  },
  {
    rule: 'store-url',
    name: 'a credential in a store URL',
    files: repo({}, `stores:\n  - s3://releases/flotilla?secretKey=hunter2\npublishers:\n  keys: [${KEY_1}]\n`),
    want: ['flotilla.yaml:2:5 /stores/0 query parameter "secretKey" looks like a credential: give credentials by environment variable, never in the URL [store-url]'],
  },
  {
    rule: 'store-url',
    name: 'a misspelt store URL parameter',
    files: repo({}, `stores:\n  - s3://releases/flotilla?endpont=http://e\npublishers:\n  keys: [${KEY_1}]\n`),
    want: [expect.stringMatching(/^flotilla\.yaml:2:5 \/stores\/0 store URL .*: unknown query parameter "endpont" \(known: endpoint, region, .*\) \[store-url\]$/) as string],
  },
  {
    rule: 'allowed-signers',
    name: 'a malformed allowed_signers line',
    files: repo({ allowed_signers: '# who signs\nalice@example.com ssh-ed25519 !!!notbase64\n' }),
    want: [expect.stringMatching(/^allowed_signers:2:1 invalid allowed_signers line: .* \[allowed-signers\]$/) as string],
  },
  {
    rule: 'file-name',
    name: 'a nested set file',
    files: repo({ 'sets/prod/web.yaml': setYaml() }),
    want: ['sets/prod/web.yaml sets/ is flat: move this file to sets/web.yaml [file-name]'],
  },
  {
    rule: 'file-name',
    name: 'a set file name that cannot be a set name',
    files: repo({ 'sets/my web.yaml': setYaml() }),
    want: ['sets/my web.yaml "my web" is not a valid name: 1-128 characters of A-Z a-z 0-9 . _ - starting with a letter or digit [file-name]'],
  },
  {
    rule: 'config-required',
    name: 'no flotilla.yaml',
    files: new Map([['sets/web.yaml', setYaml()]]),
    want: ['flotilla.yaml flotilla.yaml is missing: every deploy repo needs one (flotilla init writes it) [config-required]'],
  },
  {
    rule: 'duplicate-config',
    name: 'flotilla.yaml and flotilla.yml',
    files: repo({ 'flotilla.yml': CONFIG }),
    want: ['flotilla.yml flotilla.yaml already configures this repo; keep one of them [duplicate-config]'],
  },
];

describe('semantic rules', () => {
  it.each(CASES.map((c) => [c.rule, c.name, c] as const))('%s: %s', (_rule, _name, c) => {
    const r = loadDeclarations(c.files);
    expect(r.ok ? [] : r.errors.map(formatIssue)).toEqual(c.want);
  });

  it('accepts a Nix store path served by a Nix cache and signed by a trusted Nix key, beside a digest set', () => {
    const config = NIX_CONFIG.replace('stores:\n', 'stores:\n  - /srv/store\n');
    const r = loadDeclarations(repo({ 'sets/app.yaml': nixSet(), 'sets/web.yaml': setYaml() }, config));
    expect(r.ok ? [] : r.errors.map(formatIssue)).toEqual([]);
    expect(r.ok && r.value.sets.get('app')?.closure).toBe(NIX_PATH);
    expect(r.ok && r.value.config.nix).toEqual({ trustedKeys: [NIX_KEY], threshold: 1 });
  });

  it('refuses a malformed Nix store path at the schema, naming the closure line', () => {
    const r = loadDeclarations(repo({ 'sets/app.yaml': nixSet().replace('0c7pq7', 'eeeeee') }, NIX_CONFIG));
    expect(r.ok ? [] : r.errors.map(formatIssue).join('\n')).toMatch(/sets\/app\.yaml:1:10 \/closure .*Nix store path/);
  });

  it('has a case for every rule in RULES', () => {
    const covered = new Set(CASES.map((c) => c.rule));
    // One rule object may raise two names (windows-never-open also raises window-duration).
    expect(RULES.map((r) => r.name).filter((n) => !covered.has(n))).toEqual([]);
  });

  it.each([
    ['percent at 100%', { 'sets/web.yaml': setYaml('rollout:\n  batchSize: 100%\n') }],
    ['canary equal to the set', { 'sets/web.yaml': setYaml('rollout:\n  canary: 3\n') }],
    ['a dependency chain without a cycle', { 'sets/a.yaml': setYaml('rollout:\n  dependsOn: [b]\n'), 'sets/b.yaml': setYaml() }],
    ['one servicePath on disjoint machines', { 'sets/one.yaml': setYaml('servicePath: /srv/app\n', '[a]'), 'sets/two.yaml': setYaml('servicePath: /srv/app\n', '[b]') }],
    ['a deny window inside a longer allow window', { 'sets/web.yaml': setYaml(`rollout:\n  windows:\n${win('06:00', '4h', 'Europe/Berlin')}${win('07:00', '1h', 'Europe/Berlin', '      deny: true\n')}`) }],
    ['a 6-day deny window, once a week', { 'sets/web.yaml': setYaml(`rollout:\n  windows:\n${win('00:00', '6d', 'UTC', '      deny: true\n      days: [mon]\n')}`) }],
    ['an activate block whose command comes from the defaults', { 'sets/web.yaml': setYaml('activate:\n  timeout: 1m\n') }],
  ])('holds for the near miss: %s', (_name, files) => {
    const config = `${CONFIG}defaults:\n  activate:\n    command: [./bin/start]\n`;
    const r = loadDeclarations(repo(files, config));
    expect(r.ok ? [] : r.errors.map(formatIssue)).toEqual([]);
  });

  it('does not call a dependency unknown when its own file is broken', () => {
    const r = loadDeclarations(repo({ 'sets/web.yaml': setYaml('rollout:\n  dependsOn: [api]\n'), 'sets/api.yaml': 'closure: 1\n' }));
    expect(r.ok ? [] : r.errors.map((e) => e.file)).toEqual(['sets/api.yaml']);
  });
});
