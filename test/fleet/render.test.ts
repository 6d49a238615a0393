import { describe, expect, it } from 'vitest';
import { viewSet } from '../../src/fleet/fleet-view.js';
import { renderFleet } from '../../src/fleet/render-fleet.js';
import { digestFromHex } from '../../src/store/digest.js';

const NEW = digestFromHex('1'.repeat(64));

describe('renderFleet', () => {
  const view = viewSet({ set: 'web', desiredDigest: NEW, machines: ['a', 'b'], statuses: new Map(), leases: [{ rollout: 'r1', slot: 0, machine: 'a', token: 4, state: 'held' }], quarantines: [{ digest: NEW, machines: ['b'] }], now: new Date(), staleAfterMs: 1000 });

  it('prints a plain table without colour', () => {
    const text = renderFleet([view], false);
    expect(text).toContain('web  desired 111111111111  failed  0/2 ready');
    expect(text).toMatch(/ {2}a\s+-\s+Unknown\s+-\s+-\s+-\s+-\s+has not reported/);
    expect(text).toContain('slot 0 of rollout r1: held by a (token 4)');
    expect(text).toContain(`flotilla unquarantine web ${NEW}`);
    expect(text).not.toContain('\u001b[');
  });

  it('colours states and health on a terminal, keeping columns aligned', () => {
    const text = renderFleet([view], true);
    expect(text).toContain('\u001b[31mfailed\u001b[0m');
    expect(text).toContain('Unknown\u001b[0m');
    const plain = text.replace(/\u001b\[[0-9;]*m/g, '');
    expect(plain).toBe(renderFleet([view], false));
  });
});
