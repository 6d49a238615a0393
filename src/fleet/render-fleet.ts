import type { FleetMachineState, SetView } from './fleet-view.js';

const COLOUR: Partial<Record<FleetMachineState | 'converged' | 'progressing' | 'failed', string>> = {
  Ready: '32', converged: '32', Progressing: '33', progressing: '33', Waiting: '33', Unknown: '90',
  Failed: '31', failed: '31', RolledBack: '31', Stale: '35', Unreachable: '35', Invalid: '31',
};

function paint(text: string, key: string, colour: boolean): string {
  const code = COLOUR[key as keyof typeof COLOUR];
  return colour && code ? `\u001b[${code}m${text}\u001b[0m` : text;
}

function short(d: string | null): string {
  return d === null ? '-' : d.slice(7, 19);
}

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').replace(/\u001b\[[0-9;]*m/g, '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => c + ' '.repeat(Math.max(0, (widths[i] ?? 0) - c.replace(/\u001b\[[0-9;]*m/g, '').length))).join('  ').trimEnd());
}

/** Why nothing of the set switches: suspended in the repo, paused in the store (who, when, why). */
function holdLines(v: SetView, colour: boolean): string[] {
  const out: string[] = [];
  if (v.suspended) out.push(`  ${paint('SUSPENDED', 'Waiting', colour)} in the deploy repo (suspended: true): nothing switches until a commit lifts it`);
  if (v.pause) out.push(`  ${paint('PAUSED', 'Waiting', colour)} by ${v.pause.by} since ${v.pause.at}${v.pause.reason ? `: ${v.pause.reason}` : ''}; lift with: flotilla resume ${v.set}`);
  return out;
}

/** Renders fleet views as text tables for people; `colour` for a terminal. */
export function renderFleet(views: readonly SetView[], colour: boolean): string {
  const out: string[] = [];
  for (const v of views) {
    out.push(`${paint(v.set, '', colour)}  desired ${short(v.desiredDigest)}  ${paint(v.health, v.health, colour)}  ${v.readyCount}/${v.machines.length} ready`);
    out.push(...holdLines(v, colour));
    const rows = [['MACHINE', 'BATCH', 'STATE', 'GEN', 'RUNS', 'REPORTED', 'REASON', 'MESSAGE']];
    for (const m of v.machines) {
      rows.push([m.machine, m.batch === null ? '-' : String(m.batch), paint(m.state, m.state, colour), m.generation === null ? '-' : String(m.generation), short(m.currentDigest), m.reportedAt ?? '-', m.reason ?? '-', m.message.slice(0, 100)]);
    }
    out.push(...table(rows).map((l) => `  ${l}`));
    for (const s of v.slotHolders) out.push(`  slot ${s.slot} of rollout ${s.rollout}: held by ${s.machine} (token ${s.token})`);
    for (const r of v.removed) out.push(`  ${r.machine}: removed from the set, last seen ${r.lastSeen ?? '(unreadable report)'} running ${short(r.currentDigest)}; flotilla gc --store collects its report`);
    for (const q of v.quarantines) out.push(`  ${paint('quarantined', 'failed', colour)} ${q.digest} (failed on ${q.machines.join(', ')}); clear with: flotilla unquarantine ${v.set} ${q.digest}`);
    out.push('');
  }
  return out.join('\n');
}
