import { describe, expect, it } from 'vitest';
import { digestFromHex } from '../../src/store/digest.js';
import type { BatchSize } from '../../src/declarations/types.js';
import { batchOf, orderMachines, planRollout, rolloutIdFor, selectMachines } from '../../src/rollout/planner.js';

const D1 = digestFromHex('a'.repeat(64));
const D2 = digestFromHex('b'.repeat(64));
const machines = (n: number): string[] => Array.from({ length: n }, (_, i) => `m${String(i).padStart(2, '0')}`);

describe('planner', () => {
  const table: Array<{ name: string; n: number; canary: number; size: BatchSize; sizes: number[] }> = [
    { name: 'canary 1 + count 3', n: 10, canary: 1, size: { kind: 'count', count: 3 }, sizes: [1, 3, 3, 3] },
    { name: 'count without canary', n: 7, canary: 0, size: { kind: 'count', count: 3 }, sizes: [3, 3, 1] },
    { name: 'percent rounds up (25% of 10 = 3)', n: 10, canary: 0, size: { kind: 'percent', percent: 25 }, sizes: [3, 3, 3, 1] },
    { name: 'percent of a tiny set is at least 1', n: 3, canary: 0, size: { kind: 'percent', percent: 10 }, sizes: [1, 1, 1] },
    { name: 'canary + percent', n: 10, canary: 2, size: { kind: 'percent', percent: 50 }, sizes: [2, 5, 3] },
    { name: 'all', n: 10, canary: 0, size: { kind: 'all' }, sizes: [10] },
    { name: 'canary + all', n: 10, canary: 1, size: { kind: 'all' }, sizes: [1, 9] },
    { name: 'canary larger than the set', n: 2, canary: 5, size: { kind: 'count', count: 1 }, sizes: [2] },
    { name: 'empty set', n: 0, canary: 1, size: { kind: 'count', count: 3 }, sizes: [] },
  ];
  for (const t of table) {
    it(`cuts batches: ${t.name}`, () => {
      const plan = planRollout({ set: 'web', target: D1, machines: machines(t.n), settings: { canary: t.canary, batchSize: t.size } });
      expect(plan.batches.map((b) => b.length)).toEqual(t.sizes);
      expect(plan.batches.flat().sort()).toEqual(machines(t.n));
      expect(plan.capacity).toBe(Math.max(0, ...t.sizes));
    });
  }

  it('needs no leases for batchSize all without canary', () => {
    expect(planRollout({ set: 'web', target: D1, machines: machines(4), settings: { canary: 0, batchSize: { kind: 'all' } } }).needsLeases).toBe(false);
    expect(planRollout({ set: 'web', target: D1, machines: machines(4), settings: { canary: 1, batchSize: { kind: 'all' } } }).needsLeases).toBe(true);
  });

  it('orders deterministically whatever the input order, and rotates canaries between rollouts', () => {
    const ms = machines(20);
    const a = orderMachines(rolloutIdFor('web', D1), ms);
    const b = orderMachines(rolloutIdFor('web', D1), [...ms].reverse());
    expect(a).toEqual(b);
    const firsts = new Set<string>();
    for (let i = 0; i < 16; i++) firsts.add(orderMachines(rolloutIdFor('web', digestFromHex(i.toString(16).repeat(64))), ms)[0]!);
    expect(firsts.size).toBeGreaterThan(3);
    expect(orderMachines('r1', ['x', 'x', 'y']).length).toBe(2);
  });

  it('derives the rollout id from set and digest only', () => {
    expect(rolloutIdFor('web', D1)).toBe(rolloutIdFor('web', D1));
    expect(rolloutIdFor('web', D1)).not.toBe(rolloutIdFor('web', D2));
    expect(rolloutIdFor('web', D1)).not.toBe(rolloutIdFor('db', D1));
    expect(rolloutIdFor('web', D1)).toMatch(/^r[0-9a-f]{16}$/);
  });

  it('puts late joiners in one extra batch after the last', () => {
    const plan = planRollout({ set: 'web', target: D1, machines: machines(5), settings: { canary: 1, batchSize: { kind: 'count', count: 2 } }, lateJoiners: ['new1', 'new2', 'm00'] });
    expect(plan.batches.map((b) => b.length)).toEqual([1, 2, 2, 2]);
    expect([...plan.batches[3]!].sort()).toEqual(['new1', 'new2']);
    expect(batchOf(plan, 'm00')).toBeLessThan(3);
    expect(batchOf(plan, 'nope')).toBe(-1);
  });

  it('selects machines by labels; an empty selector selects nothing', () => {
    const inv = new Map([
      ['a', { role: 'web', zone: 'eu' }],
      ['b', { role: 'web', zone: 'us' }],
      ['c', { role: 'db', zone: 'eu' }],
    ]);
    expect(selectMachines({ role: 'web' }, inv)).toEqual(['a', 'b']);
    expect(selectMachines({ role: 'web', zone: 'eu' }, inv)).toEqual(['a']);
    expect(selectMachines({}, inv)).toEqual([]);
  });
});
