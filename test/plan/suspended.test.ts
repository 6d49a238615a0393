import { describe, expect, it } from 'vitest';
import { loadDeclarations } from '../../src/declarations/index.js';
import type { Declarations } from '../../src/declarations/types.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import { renderPlanMarkdown } from '../../src/plan/render-markdown.js';
import { renderPlanText } from '../../src/plan/render-text.js';
import { digestFromHex } from '../../src/store/digest.js';

const A = digestFromHex('a'.repeat(64));
const B = digestFromHex('b'.repeat(64));
const KEY = 'ci-1:' + Buffer.alloc(32, 7).toString('base64');

function decls(web: string): Declarations {
  const all = { 'flotilla.yaml': `stores: ["/tmp/store"]\npublishers:\n  keys: ["${KEY}"]\n`, 'sets/web.yaml': web };
  const r = loadDeclarations(new Map(Object.entries(all).map(([k, v]) => [k, Buffer.from(v)])));
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}
const set = (closure: string, extra = ''): string => `closure: ${closure}\nplatform: linux/amd64\nmachines: [m1]\n${extra}`;

describe('suspended: true in the plan (pure)', () => {
  it.each([
    { name: 'suspending a set is an aspect and a warning', before: set(A), after: set(A, 'suspended: true\n'), aspects: ['suspended'], check: { status: 'warn', message: /^suspended: machines keep what they run/ } },
    { name: 'a bump of a suspended set still warns that nothing switches', before: set(A, 'suspended: true\n'), after: set(B, 'suspended: true\n'), aspects: ['closure'], check: { status: 'warn', message: /^suspended/ } },
    { name: 'lifting it says the set rolls out again', before: set(A, 'suspended: true\n'), after: set(A, 'suspended: false\n'), aspects: ['suspended'], check: { status: 'pass', message: /^resumed/ } },
    { name: 'a set never suspended has no such check', before: set(A), after: set(B), aspects: ['closure'], check: null },
  ])('$name', ({ before, after, aspects, check }) => {
    const plan = buildPlan({
      base: { oid: '1'.repeat(40), decls: decls(before), issues: [] },
      head: { oid: '2'.repeat(40), decls: decls(after), issues: [] },
      commits: [], commitTrust: 'test', closures: new Map(), quarantines: new Map(), stores: [], now: new Date(0),
    });
    const web = plan.sets[0]!;
    expect(web.aspects).toEqual(aspects);
    const found = web.checks.find((c) => c.name === 'suspended');
    if (check === null) return expect(found).toBeUndefined();
    expect(found).toMatchObject({ status: check.status, message: expect.stringMatching(check.message) as unknown });
    expect(renderPlanText(plan)).toContain(`suspended: ${found!.message}`);
    expect(renderPlanMarkdown(plan)).toContain('**suspended**');
  });
});
