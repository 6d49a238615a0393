import { describe, expect, it } from 'vitest';
import { formatIssue, loadDeclarations, servicePathConflicts, setsForMachine, type Declarations, type MachineIdentity } from '../../src/declarations/index.js';
import { windowsEverOpen } from '../../src/declarations/window-coverage.js';
import { timeZoneOffsetMinutes } from '../../src/declarations/time-zone.js';
import { DIGEST_A, repo, setYaml } from './fixtures.js';

function load(files: Map<string, string>): Declarations {
  const r = loadDeclarations(files);
  if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
  return r.value;
}

const selectorSet = (labels: string, extra = ''): string => `closure: ${DIGEST_A}\nplatform: linux/amd64\nselector:\n  matchLabels: ${labels}\n${extra}`;

describe('setsForMachine', () => {
  const d = load(
    repo({
      'sets/api.yaml': setYaml('', '[api-1, api-2]'),
      'sets/web.yaml': selectorSet('{ role: web, env: prod }'),
      'sets/arm.yaml': `closure: ${DIGEST_A}\nplatform: linux/arm64\nmachines: [web-1]\n`,
      'machines/web-1.yaml': 'labels: { role: web, env: staging }\n',
    }),
  );

  it('returns the sets naming the machine', () => {
    expect(setsForMachine(d, { name: 'api-2', labels: {} }).map((s) => s.name)).toEqual(['api']);
  });

  it('matches selectors on the inventory labels overlaid by the machine own labels', () => {
    expect(setsForMachine(d, { name: 'web-1', labels: {} }).map((s) => s.name)).toEqual(['arm']);
    expect(setsForMachine(d, { name: 'web-1', labels: { env: 'prod' } }).map((s) => s.name)).toEqual(['arm', 'web']);
    expect(setsForMachine(d, { name: 'web-9', labels: { role: 'web', env: 'prod', extra: 'x' } }).map((s) => s.name)).toEqual(['web']);
  });

  it('returns nothing for a machine no set mentions', () => {
    expect(setsForMachine(d, { name: 'db-1', labels: { role: 'db' } })).toEqual([]);
  });

  it('keeps a set of another platform so the agent can refuse it loudly', () => {
    const machine: MachineIdentity = { name: 'web-1', labels: {}, platform: 'linux/amd64' };
    const sets = setsForMachine(d, machine);
    expect(sets.map((s) => [s.name, s.platform])).toEqual([['arm', 'linux/arm64']]);
  });

  it('finds two sets claiming one servicePath on a machine the repo could not see', () => {
    const d2 = load(
      repo({
        'sets/a.yaml': selectorSet('{ role: web }', 'servicePath: /srv/app\n'),
        'sets/b.yaml': selectorSet('{ tier: front }', 'servicePath: /srv/app\n'),
        'sets/c.yaml': selectorSet('{ tier: front }', 'servicePath: /srv/other\n'),
      }),
    );
    const mine = setsForMachine(d2, { name: 'new-box', labels: { role: 'web', tier: 'front' } });
    expect(servicePathConflicts(mine)).toEqual([{ servicePath: '/srv/app', sets: ['a', 'b'] }]);
    expect(servicePathConflicts(setsForMachine(d2, { name: 'x', labels: { role: 'web' } }))).toEqual([]);
  });
});

describe('window coverage', () => {
  const utc = (): number => 0;
  const allow = { days: ['mon' as const], startMinute: 23 * 60, durationMs: 2 * 3_600_000, timeZone: 'UTC', deny: false };

  it('an allow window wrapping past midnight is open', () => {
    expect(windowsEverOpen([allow], utc)).toBe(true);
  });

  it('a deny window covering exactly the allow window closes it; one minute less does not', () => {
    expect(windowsEverOpen([allow, { ...allow, deny: true }], utc)).toBe(false);
    expect(windowsEverOpen([allow, { ...allow, durationMs: allow.durationMs - 60_000, deny: true }], utc)).toBe(true);
  });

  it('time zone offsets place windows on one clock', () => {
    expect(timeZoneOffsetMinutes('Europe/Berlin', new Date('2025-01-15T12:00:00Z'))).toBe(60);
    expect(timeZoneOffsetMinutes('Europe/Berlin', new Date('2025-07-15T12:00:00Z'))).toBe(120);
    expect(timeZoneOffsetMinutes('America/New_York', new Date('2025-01-15T12:00:00Z'))).toBe(-300);
    // Berlin 09:00-10:00 in winter is 08:00-09:00 UTC: a UTC deny 08:00-09:00 closes it.
    const berlin = { ...allow, startMinute: 9 * 60, durationMs: 3_600_000, timeZone: 'Europe/Berlin' };
    const deny = { ...allow, startMinute: 8 * 60, durationMs: 3_600_000, deny: true };
    const winter = (tz: string): number => timeZoneOffsetMinutes(tz, new Date('2025-01-15T12:00:00Z'));
    const summer = (tz: string): number => timeZoneOffsetMinutes(tz, new Date('2025-07-15T12:00:00Z'));
    expect(windowsEverOpen([berlin, deny], winter)).toBe(false);
    expect(windowsEverOpen([berlin, deny], summer)).toBe(true);
  });
});
