import { describe, expect, it } from 'vitest';
import { pickLastReady } from '../../src/bump/last-ready.js';
import { loadDeclarations } from '../../src/declarations/index.js';
import type { Declarations } from '../../src/declarations/types.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import { compareRepo, compareSets } from '../../src/plan/compare-sets.js';
import { renderPlanMarkdown } from '../../src/plan/render-markdown.js';
import { renderPlanText } from '../../src/plan/render-text.js';
import type { PlanInput } from '../../src/plan/types.js';
import { Reason } from '../../src/status/conditions.js';
import { MACHINE_STATUS_SCHEMA, type MachineStatus } from '../../src/status/machine-status.js';
import { digestFromHex, type Digest } from '../../src/store/digest.js';

const [A, B, C] = ['a', 'b', 'c'].map((x) => digestFromHex(x.repeat(64))) as [Digest, Digest, Digest];
const KEY = 'ci-1:' + Buffer.alloc(32, 7).toString('base64');

function decls(files: Record<string, string>): Declarations {
  const all = { 'flotilla.yaml': `stores: ["/tmp/store"]\npublishers:\n  keys: ["${KEY}"]\n`, ...files };
  const r = loadDeclarations(new Map(Object.entries(all).map(([k, v]) => [k, Buffer.from(v)])));
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}
const set = (closure: string, extra = 'machines: [m1, m2]\n'): string => `closure: ${closure}\nplatform: linux/amd64\n${extra}`;
const machine = (role: string): string => `labels: { role: ${role} }\n`;

describe('compareSets / compareRepo (pure)', () => {
  it.each([
    ['closure only', { 'sets/web.yaml': set(A) }, { 'sets/web.yaml': set(B) }, [['web', 'changed', ['closure']]]],
    ['rollout only', { 'sets/web.yaml': set(A) }, { 'sets/web.yaml': set(A, 'machines: [m1, m2]\nrollout: { canary: 1 }\n') }, [['web', 'changed', ['rollout']]]],
    ['added and removed', { 'sets/old.yaml': set(A) }, { 'sets/new.yaml': set(A) }, [['new', 'added', ['closure', 'machines']], ['old', 'removed', []]]],
    ['unchanged', { 'sets/web.yaml': set(A) }, { 'sets/web.yaml': set(A) }, []],
    [
      'a label change in machines/ moves a machine into a selector',
      { 'sets/web.yaml': set(A, 'selector: { matchLabels: { role: web } }\n'), 'machines/m1.yaml': machine('web'), 'machines/m2.yaml': machine('db') },
      { 'sets/web.yaml': set(A, 'selector: { matchLabels: { role: web } }\n'), 'machines/m1.yaml': machine('web'), 'machines/m2.yaml': machine('web') },
      [['web', 'changed', ['machines']]],
    ],
  ])('%s', (_name, before, after, expected) => {
    expect(compareSets(decls(before), decls(after)).map((d) => [d.name, d.kind, d.aspects])).toEqual(expected);
  });

  it('flags a change of allowed_signers for the reviewer', () => {
    const a = decls({ 'sets/web.yaml': set(A), allowed_signers: '# v1\n' });
    const b = decls({ 'sets/web.yaml': set(A), allowed_signers: '# v2\n' });
    expect(compareRepo(a, b)).toEqual([expect.stringMatching(/^allowed_signers changed/)]);
  });
});

describe('buildPlan + markdown (pure)', () => {
  const input = (subject: string): PlanInput => ({
    base: { oid: '1'.repeat(40), decls: decls({ 'sets/web.yaml': set(A) }), issues: [] },
    head: { oid: '2'.repeat(40), decls: decls({ 'sets/web.yaml': set(B) }), issues: [] },
    commits: [{ oid: '2'.repeat(40), subject, ok: false, reason: 'unsigned' }],
    commitTrust: 'test', closures: new Map(), quarantines: new Map(), stores: [], now: new Date(0),
  });

  it('a closure the gatherer could not inspect fails, and so does an unsigned commit', () => {
    const plan = buildPlan(input('bump'));
    expect(plan.ok).toBe(false);
    expect(plan.sets[0]!.checks).toEqual([{ name: 'closure', status: 'fail', message: 'the closure was not inspected' }]);
    expect(plan.verdict).toBe('FAIL: 2 check(s) failed (commit-signatures, web/closure); do not merge');
  });

  it('escapes commit subjects so a PR cannot close the details block or forge a verdict line', () => {
    const md = renderPlanMarkdown(buildPlan(input('</details><!-- flotilla-plan --> **✅ OK** | x')));
    // Inside code spans text is literal (backticks are replaced, so a span cannot be closed early).
    const outsideCode = md.replace(/`[^`\n]*`/g, '');
    expect(outsideCode).not.toContain('</details><!--');
    expect(md).toContain('&lt;/details&gt;&lt;!-- flotilla-plan --&gt; **✅ OK** \\| x');
    expect(outsideCode.split('<!-- flotilla-plan -->')).toHaveLength(2);
  });
});

describe('the unavailability budget in the plan (pure)', () => {
  it.each([
    ['the default', 'machines: [m1, m2, m3, m4]\n', { maxUnavailable: '0', maxUnavailableMachines: 0, unreachableAfter: '15m' }, /maxUnavailable 0, unreachableAfter 15m: .*stops the rollout/],
    ['a percent, rounded down', 'machines: [m1, m2, m3, m4]\nrollout: { maxUnavailable: 30%, unreachableAfter: 5m }\n', { maxUnavailable: '30%', maxUnavailableMachines: 1, unreachableAfter: '5m' }, /maxUnavailable 30% \(1 machine\), unreachableAfter 5m: .*at most 1 machine/],
  ])('%s: JSON fields and the markdown line', (_name, extra, fields, line) => {
    const plan = buildPlan({
      base: { oid: '1'.repeat(40), decls: decls({ 'sets/web.yaml': set(A, extra) }), issues: [] },
      head: { oid: '2'.repeat(40), decls: decls({ 'sets/web.yaml': set(B, extra) }), issues: [] },
      commits: [], commitTrust: 'test', closures: new Map(), quarantines: new Map(), stores: [], now: new Date(0),
    });
    expect(plan.sets[0]!.rollout).toMatchObject(fields);
    expect(renderPlanMarkdown(plan)).toMatch(line);
    expect(renderPlanText(plan)).toMatch(line);
  });
});

describe('membership changes (pure)', () => {
  it('names machines that join (full fetch) and leave (warned)', () => {
    const plan = buildPlan({
      base: { oid: '1'.repeat(40), decls: decls({ 'sets/web.yaml': set(A, 'machines: [m1, m2]\n') }), issues: [] },
      head: { oid: '2'.repeat(40), decls: decls({ 'sets/web.yaml': set(A, 'machines: [m2, m3]\n') }), issues: [] },
      commits: [], commitTrust: 'test', closures: new Map(), quarantines: new Map(), stores: [], now: new Date(0),
    });
    const check = plan.sets[0]!.checks.find((c) => c.name === 'machines')!;
    expect(check.status).toBe('warn');
    expect(check.message).toBe('m3 join(s) and fetch the whole closure; m1 leave(s): the agent stops managing the set there and leaves its last generation in place');
    expect(plan.ok).toBe(true);
  });
});

describe('pickLastReady (pure)', () => {
  const now = new Date('2026-11-22T00:00:00Z');
  const fresh = { now, staleAfterMs: 600_000 };
  const st = (machine: string, current: Digest, state: MachineStatus['state'], at = now): MachineStatus => ({
    schema: MACHINE_STATUS_SCHEMA, machine, set: 'web', desiredDigest: C, currentDigest: current, generation: 1, commit: null, state,
    conditions: [{ type: 'Ready', status: 'True', reason: Reason.Succeeded, message: '', lastTransitionTime: at.toISOString() }],
    rollout: null, reportedAt: at.toISOString(), agentVersion: 'x',
  });
  const old = new Date(now.getTime() - 3_600_000);

  it.each([
    ['newest earlier digest on every machine', [st('m1', B, 'Ready'), st('m2', B, 'RolledBack')], B],
    ['skips one not everywhere', [st('m1', B, 'Ready'), st('m2', A, 'Ready')], null],
    ['a stale report does not count', [st('m1', B, 'Ready'), st('m2', B, 'Ready', old)], null],
    ['a Failed machine does not count', [st('m1', B, 'Ready'), st('m2', B, 'Failed')], null],
    ['a machine Waiting on it (held by a quarantine) runs it fine', [st('m1', B, 'RolledBack'), st('m2', B, 'Waiting')], B],
    ['a machine mid-switch does not count', [st('m1', B, 'Ready'), st('m2', B, 'Progressing')], null],
    ['the current digest is never the answer', [st('m1', C, 'Ready'), st('m2', C, 'Ready')], null],
    ['a machine that never reported blocks it', [st('m1', A, 'Ready')], null],
  ])('%s', (_name, statuses, expected) => {
    const map = new Map(statuses.map((s) => [s.machine, s] as const));
    expect(pickLastReady([C, B, A], C, ['m1', 'm2'], map, fresh)).toBe(expected);
  });
});
