import { describe, expect, it } from 'vitest';
import { viewSet } from '../../src/status/fleet-view.js';
import { renderSetViews } from '../../src/status/render.js';
import { digestFromHex } from '../../src/store/digest.js';

const NEW = digestFromHex('1'.repeat(64));

describe('renderSetViews', () => {
  const view = {
    ...viewSet({ set: 'web', desiredDigest: NEW, machines: ['a', 'b'], statuses: new Map(), leases: [{ rollout: 'r1', slot: 0, machine: 'a', token: 4, state: 'held' }], quarantines: [{ digest: NEW, machines: ['b'] }], now: new Date(), staleAfterMs: 1000 }),
    strays: ['zz'],
  };

  it('prints a plain table without colour', () => {
    const text = renderSetViews([view], false);
    expect(text).toContain('web  desired 111111111111  failed  0/2 ready');
    expect(text).toMatch(/ {2}a\s+-\s+Unknown\s+-\s+-\s+-\s+has not reported/);
    expect(text).toContain('slot 0 of r1: a (token 4)');
    expect(text).toContain('quarantined 111111111111: failed on b');
    expect(text).toContain('reporting but not members: zz');
    expect(text).not.toContain('\u001b[');
  });

  it('colours states and health on a terminal', () => {
    const text = renderSetViews([view], true);
    expect(text).toContain('\u001b[31mfailed\u001b[0m');
    expect(text).toContain('\u001b[33mUnknown\u001b[0m');
  });
});
