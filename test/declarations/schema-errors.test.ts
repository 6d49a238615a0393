import { describe, expect, it } from 'vitest';
import { formatIssue, loadDeclarations, type DeclarationIssue } from '../../src/declarations/index.js';
import { CONFIG, DIGEST_A, repo, setYaml } from './fixtures.js';

interface Case {
  name: string;
  file: string;
  text: string | Uint8Array;
  want: Omit<DeclarationIssue, 'message'> & { message: string | RegExp };
}

const S = 'sets/web.yaml';
const CASES: Case[] = [
  {
    name: 'a webhook receiver without its secret',
    file: 'flotilla.yaml',
    text: `${CONFIG}notifications:\n  receivers:\n    - name: ops\n      type: webhook\n      url: https://hooks.example.com/f\n`,
    want: { file: 'flotilla.yaml', line: 8, col: 7, pointer: '/notifications/receivers/0', message: "a webhook receiver needs secret (the name of a secret in each agent config's notificationSecrets)" },
  },
  {
    name: 'an unknown event kind',
    file: 'flotilla.yaml',
    text: `${CONFIG}notifications:\n  receivers:\n    - { name: pager, type: command, command: [/bin/page], events: [rollout-exploded] }\n`,
    want: { file: 'flotilla.yaml', line: 8, col: 68, pointer: '/notifications/receivers/0/events/0', message: /^must be one of: "rollout-started", "batch-ready"/ },
  },
  {
    name: 'wrong type',
    file: S,
    text: setYaml('rollout:\n  canary: "two"\n'),
    want: { file: S, line: 5, col: 11, pointer: '/rollout/canary', message: 'must be integer (got string)' },
  },
  {
    name: 'minimum',
    file: S,
    text: setYaml('rollout:\n  batchSize: 0\n'),
    want: { file: S, line: 5, col: 14, pointer: '/rollout/batchSize', message: 'must be >= 1' },
  },
  {
    name: 'pattern (digest)',
    file: S,
    text: 'closure: sha256:ABC\nplatform: linux/amd64\nmachines: [a]\n',
    want: { file: S, line: 1, col: 10, pointer: '/closure', message: 'must be a closure digest (sha256: and 64 lowercase hex) or a Nix store path (/nix/store/<32-character hash>-<name>)' },
  },
  {
    name: 'pattern (duration)',
    file: S,
    text: setYaml('rollout:\n  pauseBetweenBatches: 5 minutes\n'),
    want: { file: S, line: 5, col: 24, pointer: '/rollout/pauseBetweenBatches', message: 'must be a duration such as 500ms, 30s, 5m, 1h30m or 2d' },
  },
  {
    name: 'additionalProperties names the property and points at its key',
    file: S,
    text: setYaml('rollout:\n  batchsize: 2\n'),
    want: { file: S, line: 5, col: 3, pointer: '/rollout/batchsize', message: /^unknown property "batchsize" \(allowed: batchSize, canary, / },
  },
  {
    name: 'missing required property',
    file: S,
    text: 'platform: linux/amd64\nmachines: [a]\n',
    want: { file: S, line: 1, col: 1, pointer: '', message: "must have required property 'closure'" },
  },
  {
    name: 'missing required property in a nested object',
    file: S,
    text: setYaml('health:\n  http:\n    expectStatus: 204\n'),
    want: { file: S, line: 6, col: 5, pointer: '/health/http', message: "must have required property 'url'" },
  },
  {
    name: 'enum inside an array',
    file: S,
    text: setYaml('rollout:\n  windows:\n    - days: [mon, funday]\n      start: "06:00"\n      duration: 1h\n      timeZone: UTC\n'),
    want: { file: S, line: 6, col: 19, pointer: '/rollout/windows/0/days/1', message: 'must be one of: "mon", "tue", "wed", "thu", "fri", "sat", "sun"' },
  },
  {
    name: 'a key with no value points where the value should be',
    file: S,
    text: setYaml('rollout:\nhealth: {}\n'),
    want: { file: S, line: 4, col: 9, pointer: '/rollout', message: 'must be object (got null)' },
  },
  {
    name: 'an empty file',
    file: S,
    text: '# nothing here yet\n',
    want: { file: S, line: 1, col: 1, pointer: '', message: 'must be object (got null)' },
  },
  {
    name: 'a servicePath with a .. segment',
    file: S,
    text: setYaml('servicePath: /srv/../etc\n'),
    want: { file: S, line: 4, col: 14, pointer: '/servicePath', message: 'must be a normalised absolute path such as /srv/web (no . or .. segments, no trailing /)' },
  },
  {
    name: 'whole document of the wrong type',
    file: S,
    text: '- closure\n',
    want: { file: S, line: 1, col: 1, pointer: '', message: 'must be object (got array)' },
  },
  {
    name: 'format (date-time) in flotilla.yaml',
    file: 'flotilla.yaml',
    text: `${CONFIG}expires: next tuesday\n`,
    want: { file: 'flotilla.yaml', line: 6, col: 10, pointer: '/expires', message: 'must be an RFC 3339 date-time such as 2026-12-31T00:00:00Z' },
  },
  {
    name: 'label name (propertyNames) in a machine file',
    file: 'machines/m1.yaml',
    text: 'labels:\n  role: web\n  "bad label": x\n',
    want: { file: 'machines/m1.yaml', line: 3, col: 3, pointer: '/labels/bad label', message: 'property name "bad label" is invalid' },
  },
  {
    name: 'malformed YAML (unclosed flow sequence)',
    file: S,
    text: `closure: ${DIGEST_A}\nmachines: [a, b\nplatform: linux/amd64\n`,
    // yaml notices the missing ] where the next key starts.
    want: { file: S, line: 3, col: 1, pointer: '', message: /^YAML / },
  },
  {
    name: 'malformed YAML (tab indentation)',
    file: S,
    text: `closure: ${DIGEST_A}\nrollout:\n\tcanary: 1\n`,
    want: { file: S, line: 3, col: 1, pointer: '', message: /^YAML TAB_AS_INDENT/ },
  },
  {
    name: 'duplicate key',
    file: S,
    text: `closure: ${DIGEST_A}\nplatform: linux/amd64\nmachines: [a]\nrollout:\n  canary: 1\n  canary: 2\n`,
    want: { file: S, line: 6, col: 3, pointer: '', message: 'YAML DUPLICATE_KEY: Map keys must be unique' },
  },
  {
    name: 'two documents in one file',
    file: S,
    text: `${setYaml()}---\n${setYaml()}`,
    want: { file: S, line: 4, col: 1, pointer: '', message: /^YAML MULTIPLE_DOCS/ },
  },
  {
    name: 'unresolved alias',
    file: S,
    text: `${setYaml()}description: *nothing\n`,
    want: { file: S, line: 4, col: 14, pointer: '', message: 'YAML: Unresolved alias (the anchor must be set before the alias): nothing' },
  },
  {
    name: 'an alias bomb (billion laughs)',
    file: S,
    text: `${setYaml()}x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n${Array.from({ length: 8 }, (_, i) => `x${i + 1}: &a${i + 1} [${Array.from({ length: 10 }, () => `*a${i}`).join(', ')}]`).join('\n')}\n`,
    want: { file: S, line: 5, col: 10, pointer: '', message: /^YAML: Excessive alias count/ },
  },
  {
    name: 'bytes that are not UTF-8',
    file: S,
    text: new Uint8Array([0x63, 0x6c, 0xff, 0xfe, 0x0a]),
    want: { file: S, pointer: '', message: 'file is not valid UTF-8' },
  },
];

describe('schema and YAML errors carry file:line:col and a JSON pointer', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const files = new Map<string, string | Uint8Array>(repo(c.file === 'flotilla.yaml' ? {} : { [S]: setYaml() }));
    files.set(c.file, c.text);
    const r = loadDeclarations(files);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toHaveLength(1);
    const [got] = r.errors;
    const { message, ...where } = c.want;
    const { message: gotMessage, ...gotWhere } = got ?? { message: '' };
    expect(gotWhere).toEqual(where);
    if (typeof message === 'string') expect(gotMessage).toBe(message);
    else expect(gotMessage).toMatch(message);
  });

  it('formats an issue the way editors and CI read it', () => {
    const r = loadDeclarations(repo({ [S]: setYaml('rollout:\n  batchSize: 0\n') }));
    expect(r.ok ? [] : r.errors.map(formatIssue)).toEqual(['sets/web.yaml:5:14 /rollout/batchSize must be >= 1']);
  });

  it('reports every error of every file at once, sorted by file and position', () => {
    const r = loadDeclarations(
      repo({
        'sets/b.yaml': setYaml('rollout:\n  canary: -1\n  batchSize: 0\n'),
        'sets/a.yaml': 'closure: nope\n',
        'machines/m.yaml': 'labels: []\n',
      }),
    );
    expect(r.ok ? [] : r.errors.map(formatIssue)).toEqual([
      'machines/m.yaml:1:9 /labels must be object (got array)',
      'sets/a.yaml:1:10 /closure must be a closure digest (sha256: and 64 lowercase hex) or a Nix store path (/nix/store/<32-character hash>-<name>)',
      'sets/b.yaml:5:11 /rollout/canary must be >= 0',
      'sets/b.yaml:6:14 /rollout/batchSize must be >= 1',
    ]);
  });

  it('accepts the valid repo the cases start from', () => {
    const r = loadDeclarations(repo({ [S]: setYaml() }));
    expect(r.ok ? [] : r.errors.map(formatIssue)).toEqual([]);
  });
});
