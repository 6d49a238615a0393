import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatIssue, loadAgentConfigText, loadDeclarations } from '../../src/declarations/index.js';
import { DURATION_PATTERN, durationOr, formatDuration, parseDuration, readDuration } from '../../src/util/duration.js';
import { durationOption } from '../../src/cli/duration-option.js';
import { repo, setYaml } from './fixtures.js';

interface DurationSchema {
  $defs: { duration: { pattern: string } };
}
const schemaPattern = (JSON.parse(readFileSync('schemas/common.schema.json', 'utf8')) as DurationSchema).$defs.duration.pattern;

// One table for every reader of a duration: the parser, the schema pattern, CLI options, YAML fields.
const ACCEPTED: Array<[string, number]> = [
  ['0s', 0],
  ['500ms', 500],
  ['30s', 30_000],
  ['5m', 300_000],
  ['24h', 86_400_000],
  ['2d', 172_800_000],
  ['1h30m', 5_400_000],
  ['1m30s250ms', 90_250],
  ['1d2h3m4s5ms', 93_784_005],
  ['9999999d', 9_999_999 * 86_400_000],
  ['9999999d9999999h9999999m9999999s9999999ms', 9_999_999 * (86_400_000 + 3_600_000 + 60_000 + 1000 + 1)],
];
const REFUSED: string[] = [
  '', '24', '0', '5 m', ' 5m', '5m ', 'm5', '1.5h', '-1s', '+1s', '5min', '30S', '1H', 'soon', '1w', '1y',
  '30s1m', '1h1h', '5ms5s', 'ms', 'h', '10000000ms', '1e3ms', '0x10s', '１s',
];

describe('one duration grammar', () => {
  it('the schema carries the parser\'s pattern verbatim', () => {
    expect(schemaPattern).toBe(DURATION_PATTERN);
  });

  it.each(ACCEPTED)('%j is %i ms, by the parser and the schema pattern alike', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(Number.isSafeInteger(ms)).toBe(true);
    expect(new RegExp(schemaPattern, 'u').test(text)).toBe(true);
    expect(durationOption(text, '--x', -1)).toBe(ms);
  });

  it.each(REFUSED.map((t) => [t]))('%j is refused by the parser and the schema pattern alike', (text) => {
    expect(parseDuration(text)).toBeUndefined();
    expect(new RegExp(schemaPattern, 'u').test(text)).toBe(false);
    expect(() => durationOption(text, '--x', -1)).toThrow(expect.objectContaining({ code: 'UsageError', data: { option: '--x', value: text } }) as Error);
  });

  it.each([
    ['24', /"24" has no unit; write e\.g\. 24s or 24m/],
    ['soon', /"soon" is not a duration; write e\.g\. 500ms, 30s, 5m, 1h30m or 2d/],
    ['30s1m', /largest first/],
  ])('the reason for %j says what to write', (text, why) => {
    const r = readDuration(text);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.problem).toMatch(why);
  });

  it('formatDuration reads back through the parser (below 10,000,000 days)', () => {
    for (const [, ms] of ACCEPTED.filter(([, v]) => v < 1e7 * 86_400_000)) expect(parseDuration(formatDuration(ms))).toBe(ms);
  });

  it('an absent option or field takes its default; a present but invalid one never does', () => {
    expect(durationOption(undefined, '--x', 42)).toBe(42);
    expect(durationOr(undefined, 42)).toBe(42);
    expect(() => durationOr('24', 42)).toThrow(/internal/);
  });
});

describe('durations in YAML are refused at file:line:col, never defaulted', () => {
  it.each([
    ['a bare number', 'activate:\n  command: [./go]\n  timeout: 30\n', '/activate/timeout', 6],
    ['a quoted bare number', 'activate:\n  command: [./go]\n  timeout: "30"\n', '/activate/timeout', 6],
    ['a word', 'health:\n  http: { url: "http://127.0.0.1:1/" }\n  interval: soon\n', '/health/interval', 6],
    ['units out of order', 'rollout:\n  pauseBetweenBatches: 30s1m\n', '/rollout/pauseBetweenBatches', 5],
  ])('a set with %s', (_what, extra, pointer, line) => {
    const r = loadDeclarations(repo({ 'sets/web.yaml': setYaml(extra) }));
    expect(r.ok).toBe(false);
    const issue = r.ok ? undefined : r.errors.find((e) => e.pointer === pointer);
    expect(issue, r.ok ? '' : r.errors.map(formatIssue).join('\n')).toMatchObject({ file: 'sets/web.yaml', line });
    expect(issue?.message).toMatch(/a duration such as 500ms, 30s, 5m, 1h30m or 2d/);
    expect(formatIssue(issue!)).toMatch(/^sets\/web\.yaml:\d+:\d+/);
  });

  it.each([
    ['jitter: 24', '/repo/jitter'],
    ['jitter: "24"', '/repo/jitter'],
    ['timeout: 1w', '/repo/timeout'],
  ])('an agent config with repo.%s', (field, pointer) => {
    const text = `machine: web-1\nrepo:\n  url: https://git.example/deploy.git\n  ${field}\ntrust:\n  allowedSignersFile: /etc/flotilla/allowed_signers\n`;
    const r = loadAgentConfigText('agent.yaml', text);
    expect(r.ok).toBe(false);
    expect(r.ok ? [] : r.errors).toEqual([expect.objectContaining({ file: 'agent.yaml', line: 4, pointer, message: expect.stringMatching(/duration/) as string })]);
  });

  it('an agent config with a valid compound duration loads it', () => {
    const text = 'machine: web-1\nrepo:\n  url: https://git.example/deploy.git\n  timeout: 1m30s\ntrust:\n  allowedSignersFile: /etc/flotilla/allowed_signers\n';
    const r = loadAgentConfigText('agent.yaml', text);
    expect(r.ok ? r.value.repo.timeoutMs : r.errors.map(formatIssue)).toBe(90_000);
  });
});
