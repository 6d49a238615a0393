import type { FleetMachineState, SetView } from './fleet-view.js';

const COLOURS: Record<FleetMachineState, string> = {
  Ready: '32', Progressing: '33', Waiting: '33', Unknown: '33', Failed: '31', RolledBack: '31', Stale: '31', Invalid: '31',
};
const HEALTH = { converged: '32', progressing: '33', failed: '31' } as const;

function paint(text: string, code: string, color: boolean): string {
  return color ? `\u001b[${code}m${text}\u001b[0m` : text;
}

function short(d: string | null): string {
  return d === null ? '-' : d.slice('sha256:'.length, 'sha256:'.length + 12);
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd());
}

/**
 * Renders set views as the text `flotilla status` prints for people: per set a header (desired digest,
 * health, ready count), a row per machine (batch, state, digest, generation, last report, reason), then
 * slot holders, quarantines and strays. `color` adds ANSI colours (only on a TTY). Pure.
 */
export function renderSetViews(views: readonly SetView[], color: boolean): string {
  const out: string[] = [];
  for (const v of views) {
    out.push(`${paint(v.set, '1', color)}  desired ${short(v.desiredDigest)}  ${paint(v.health, HEALTH[v.health], color)}  ${v.readyCount}/${v.machines.length} ready`);
    const rows = [['  MACHINE', 'BATCH', 'STATE', 'DIGEST', 'GEN', 'REPORTED', 'REASON']];
    for (const m of v.machines) {
      rows.push([`  ${m.machine}`, m.batch === null ? '-' : String(m.batch), m.state, short(m.currentDigest), m.generation === null ? '-' : String(m.generation), m.reportedAt ?? '-', [m.reason ?? '', m.message].filter((s) => s !== '').join(': ')]);
    }
    // Colour after padding so escape codes do not break the alignment.
    const lines = table(rows);
    out.push(lines[0]!, ...lines.slice(1).map((l, i) => {
      const state = v.machines[i]!.state;
      return color ? l.replace(new RegExp(`(?<=\\s)${state}(?=\\s|$)`), paint(state, COLOURS[state], true)) : l;
    }));
    for (const s of v.slotHolders) out.push(`  slot ${s.slot} of ${s.rollout}: ${s.machine} (token ${s.token})`);
    for (const q of v.quarantines) out.push(paint(`  quarantined ${short(q.digest)}: failed on ${q.machines.join(', ')}`, '31', color));
    if (v.strays.length > 0) out.push(`  reporting but not members: ${v.strays.join(', ')}`);
    out.push('');
  }
  return out.join('\n');
}
