import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { crashPointsFromSpec, emptyState, readState, writeState, type SetState } from '../../src/generations/index.js';
import { digestOf, makeStateDir } from './fixture.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ stateDir: dir, cleanup } = await makeStateDir()));
afterEach(async () => cleanup());

const D = digestOf('x');
const good: SetState = {
  version: 1,
  active: 3,
  previousActive: 1,
  pending: { from: 3, to: 4, digest: D, startedAt: '2026-01-01T00:00:00.000Z', phase: 'health' },
  rollback: { from: 4, to: 3, startedAt: '2026-01-01T00:00:01.000Z' },
  bad: { [D]: { reason: 'health', attempts: 2, at: '2026-01-01T00:00:00.000Z', desiredDigest: D, desiredCommit: 'abc' } },
  lastDesired: D,
  lastNumber: 4,
};

describe('state.json', () => {
  it('round-trips every field, and a missing file is the empty state', async () => {
    const file = join(dir, 'state.json');
    expect(await readState(file)).toEqual(emptyState());
    await writeState(file, good);
    expect(await readState(file)).toEqual(good);
  });

  it.each([
    ['not JSON', '{"version":1,', 'not valid JSON'],
    ['an array', '[]', '(root)'],
    ['version 2', JSON.stringify({ ...good, version: 2 }), 'version'],
    ['no lastNumber', JSON.stringify({ version: 1, bad: {} }), 'lastNumber'],
    ['active 0', JSON.stringify({ ...good, active: 0 }), 'active'],
    ['pending without to', JSON.stringify({ ...good, pending: { ...good.pending, to: undefined } }), 'pending.to'],
    ['unknown phase', JSON.stringify({ ...good, pending: { ...good.pending, phase: 'done' } }), 'pending.phase'],
    ['bad digest key', JSON.stringify({ ...good, bad: { 'sha256:00': good.bad[D] } }), 'bad["sha256:00"]'],
    ['bad attempts', JSON.stringify({ ...good, bad: { [D]: { ...good.bad[D], attempts: 0 } } }), '.attempts'],
    ['bad without desiredDigest', JSON.stringify({ ...good, bad: { [D]: { ...good.bad[D], desiredDigest: undefined } } }), '.desiredDigest'],
    ['lastDesired not a digest', JSON.stringify({ ...good, lastDesired: 'latest' }), 'lastDesired'],
    ['rollback without startedAt', JSON.stringify({ ...good, rollback: { to: 1 } }), 'rollback.startedAt'],
  ])('refuses %s with a GenerationError naming the file and field', async (_name, text, field) => {
    const file = join(dir, 'state.json');
    await writeFile(file, text);
    await expect(readState(file)).rejects.toMatchObject({ code: 'GenerationError', data: { file }, message: expect.stringContaining(field) as string });
  });
});

describe('crash point specs', () => {
  it('fires on the named hit only, and refuses unknown names', () => {
    const hits: number[] = [];
    let n = 0;
    const cp = crashPointsFromSpec('switch:after-rename@2', () => hits.push(n));
    for (n = 1; n <= 3; n++) {
      cp.hit('switch:after-rename');
      cp.hit('switch:after-pending');
    }
    expect(hits).toEqual([2]);
    expect(() => crashPointsFromSpec('switch:after-renam', () => undefined)).toThrow(RangeError);
    expect(() => crashPointsFromSpec('switch:after-rename@0', () => undefined)).toThrow(RangeError);
    crashPointsFromSpec(undefined, () => hits.push(99)).hit('stage:after-links');
    expect(hits).toEqual([2]);
  });
});
