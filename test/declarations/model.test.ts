import { describe, expect, it } from 'vitest';
import { formatIssue, loadDeclarations, type Declarations, type SetDeclaration } from '../../src/declarations/index.js';
import { planRollout } from '../../src/rollout/planner.js';
import { membersOf, setPlanOf } from '../../src/rollout/set-plan.js';
import { evaluateWindows } from '../../src/rollout/windows.js';
import { CONFIG, repo, setYaml } from './fixtures.js';

// The one conversion from YAML to the model every consumer (planner, windows, gate, plan, status, agent) reads:
// each row is a set file fragment and the normalised value it must become, then what a consumer makes of it.

function load(files: Map<string, string>): Declarations {
  const r = loadDeclarations(files);
  if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
  return r.value;
}

const web = (extra: string): SetDeclaration => load(repo({ 'sets/web.yaml': setYaml(extra) })).sets.get('web')!;
const TEN = 'machines: [m0, m1, m2, m3, m4, m5, m6, m7, m8, m9]\n';

describe('the model made from declarations', () => {
  const rollouts: Array<{ name: string; yaml: string; batchSize: SetDeclaration['rollout']['batchSize']; sizes: number[] }> = [
    { name: 'no rollout block: one machine at a time', yaml: '', batchSize: { kind: 'count', count: 1 }, sizes: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1] },
    { name: 'a count', yaml: 'rollout:\n  batchSize: 4\n', batchSize: { kind: 'count', count: 4 }, sizes: [4, 4, 2] },
    { name: 'a percent, rounded up', yaml: 'rollout:\n  batchSize: 25%\n', batchSize: { kind: 'percent', percent: 25 }, sizes: [3, 3, 3, 1] },
    { name: 'all, after a canary', yaml: 'rollout:\n  batchSize: all\n  canary: 1\n', batchSize: { kind: 'all' }, sizes: [1, 9] },
  ];
  for (const t of rollouts) {
    it(`batch size: ${t.name}`, () => {
      const decls = load(repo({ 'sets/web.yaml': setYaml(t.yaml).replace('machines: [a, b, c]\n', TEN) }));
      const set = decls.sets.get('web')!;
      expect(set.rollout.batchSize).toEqual(t.batchSize);
      // The planner takes the policy as declarations made it: no second shape in between.
      const plan = planRollout({ set: set.name, target: set.closure, machines: membersOf(decls, set), settings: set.rollout });
      expect(plan.batches.map((b) => b.length)).toEqual(t.sizes);
    });
  }

  const windows: Array<{ name: string; yaml: string; want: SetDeclaration['rollout']['windows']; openAt: string; closedAt: string }> = [
    {
      name: 'an allow window on given days',
      yaml: '    - days: [tue]\n      start: "02:00"\n      duration: 2h\n      timeZone: Europe/Berlin\n',
      want: [{ days: ['tue'], startMinute: 120, durationMs: 7_200_000, timeZone: 'Europe/Berlin', deny: false }],
      openAt: '2026-01-06T01:30:00Z',
      closedAt: '2026-01-06T03:00:00Z',
    },
    {
      name: 'no days: every day',
      yaml: '    - start: "23:30"\n      duration: 45m\n      timeZone: UTC\n',
      want: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], startMinute: 23 * 60 + 30, durationMs: 2_700_000, timeZone: 'UTC', deny: false }],
      openAt: '2026-01-08T00:10:00Z',
      closedAt: '2026-01-08T00:15:00Z',
    },
    {
      name: 'a deny window',
      yaml: '    - days: [sat, sun]\n      start: "00:00"\n      duration: 1d\n      timeZone: UTC\n      deny: true\n',
      want: [{ days: ['sat', 'sun'], startMinute: 0, durationMs: 86_400_000, timeZone: 'UTC', deny: true }],
      openAt: '2026-01-09T23:59:00Z',
      closedAt: '2026-01-10T00:00:00Z',
    },
  ];
  for (const t of windows) {
    it(`window: ${t.name}`, () => {
      const set = web(`rollout:\n  windows:\n${t.yaml}`);
      expect(set.rollout.windows).toEqual(t.want);
      expect(evaluateWindows(set.rollout.windows, new Date(t.openAt)).open).toBe(true);
      expect(evaluateWindows(set.rollout.windows, new Date(t.closedAt)).open).toBe(false);
    });
  }

  const blocks: Array<{ name: string; yaml: string; field: 'activate' | 'health'; want: unknown }> = [
    {
      name: 'activate: one timeout bounds the command and both hooks; a string runs through sh',
      yaml: 'activate:\n  command: ./bin/start\n  drain: [lb, off]\n  undrain: [lb, on]\n  timeout: 20s\n',
      field: 'activate',
      want: { env: {}, timeoutMs: 20_000, drainGraceMs: 0, command: ['/bin/sh', '-c', './bin/start'], drain: { command: ['lb', 'off'], timeoutMs: 20_000 }, undrain: { command: ['lb', 'on'], timeoutMs: 20_000 } },
    },
    {
      name: 'activate: hooks only, with a grace',
      yaml: 'activate:\n  undrain: [lb, on]\n  drainGrace: 3s\n',
      field: 'activate',
      want: { env: {}, timeoutMs: 300_000, drainGraceMs: 3000, undrain: { command: ['lb', 'on'], timeoutMs: 300_000 } },
    },
    { name: 'activate: none declared', yaml: '', field: 'activate', want: undefined },
    {
      name: 'health: http with defaults',
      yaml: 'health:\n  http: { url: "http://127.0.0.1:9/ok" }\n',
      field: 'health',
      want: { initialDelayMs: 0, intervalMs: 5000, retries: 3, timeoutMs: 10_000, http: { url: 'http://127.0.0.1:9/ok', expectStatus: 200 } },
    },
    {
      name: 'health: command and http with everything given',
      yaml: 'health:\n  command: [./bin/check]\n  http: { url: "http://127.0.0.1:9/ok", expectStatus: 204, bodyMatch: "^ok" }\n  initialDelay: 1s\n  interval: 2s\n  retries: 0\n  timeout: 3s\n',
      field: 'health',
      want: { initialDelayMs: 1000, intervalMs: 2000, retries: 0, timeoutMs: 3000, command: ['./bin/check'], http: { url: 'http://127.0.0.1:9/ok', expectStatus: 204, bodyMatch: '^ok' } },
    },
    { name: 'health: none declared', yaml: '', field: 'health', want: undefined },
  ];
  for (const t of blocks) {
    it(t.name, () => {
      // toStrictEqual: the generation origin file stores this object as is, so no stray keys either.
      expect(web(t.yaml)[t.field]).toStrictEqual(t.want);
    });
  }

  const refused: Array<{ name: string; yaml: string; message: RegExp }> = [
    { name: 'batch size 0', yaml: 'rollout:\n  batchSize: 0\n', message: /\/rollout\/batchSize/ },
    { name: 'batch size 1.5', yaml: 'rollout:\n  batchSize: 1.5\n', message: /\/rollout\/batchSize/ },
    { name: 'batch size "3"', yaml: 'rollout:\n  batchSize: "3"\n', message: /\/rollout\/batchSize/ },
    { name: 'batch size half', yaml: 'rollout:\n  batchSize: half\n', message: /\/rollout\/batchSize/ },
    { name: 'batch size 101%', yaml: 'rollout:\n  batchSize: 101%\n', message: /\/rollout\/batchSize/ },
    { name: 'window start 25:00', yaml: 'rollout:\n  windows:\n    - start: "25:00"\n      duration: 1h\n      timeZone: UTC\n', message: /\/rollout\/windows\/0\/start/ },
    { name: 'window day funday', yaml: 'rollout:\n  windows:\n    - days: [funday]\n      start: "01:00"\n      duration: 1h\n      timeZone: UTC\n', message: /\/rollout\/windows\/0\/days/ },
    { name: 'window of 90 seconds', yaml: 'rollout:\n  windows:\n    - start: "01:00"\n      duration: 90s\n      timeZone: UTC\n', message: /window-duration/ },
    { name: 'window of 0 seconds', yaml: 'rollout:\n  windows:\n    - start: "01:00"\n      duration: 0s\n      timeZone: UTC\n', message: /window-duration/ },
    { name: 'window in an unknown zone', yaml: 'rollout:\n  windows:\n    - start: "01:00"\n      duration: 1h\n      timeZone: Mars/Olympus\n', message: /unknown-time-zone/ },
  ];
  for (const t of refused) {
    it(`refuses ${t.name} where it enters, so consumers never see it`, () => {
      const r = loadDeclarations(repo({ 'sets/web.yaml': setYaml(t.yaml) }));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.errors.map(formatIssue).join('\n')).toMatch(t.message);
    });
  }

  it('machine identity: members by name or by inventory labels; a late joiner plans in a final batch', () => {
    const decls = load(
      repo(
        {
          'sets/web.yaml': setYaml('', '[b, a]'),
          'sets/api.yaml': setYaml().replace('machines: [a, b, c]\n', 'selector:\n  matchLabels: { role: api }\n'),
          'machines/x.yaml': 'labels: { role: api }\n',
          'machines/y.yaml': 'labels: { role: db }\n',
        },
        CONFIG,
      ),
    );
    expect(membersOf(decls, decls.sets.get('web')!)).toEqual(['a', 'b']);
    expect(membersOf(decls, decls.sets.get('api')!)).toEqual(['x']);
    const plan = setPlanOf(decls, decls.sets.get('web')!, 'late');
    expect(plan.batches.at(-1)).toEqual(['late']);
    expect(setPlanOf(decls, decls.sets.get('web')!, 'a').order).not.toContain('late');
  });
});
