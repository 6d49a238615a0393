import { budgetSummary, changeSummary, fetchSummary, formatBytes, rolloutSummary, short, statusMark } from './render-common.js';
import type { Plan, PlanCheck } from './types.js';

function checkLines(checks: PlanCheck[], indent: string): string[] {
  return checks.flatMap((c) => [`${indent}${statusMark(c.status, false)} ${c.name}: ${c.message}`, ...(c.details ?? []).map((d) => `${indent}     ${d}`)]);
}

/** Renders the plan for a terminal: one block per set, the repo checks, then the verdict line last. */
export function renderPlanText(plan: Plan): string {
  const lines = [`plan ${plan.base.slice(0, 12)}..${plan.head.slice(0, 12)}: ${plan.sets.length} set(s) change`];
  for (const s of plan.sets) {
    lines.push('', `${s.name} (${s.file}): ${changeSummary(s)}`, `  closure ${short(s.from)} -> ${short(s.to)}`);
    if (s.packages.length > 0) lines.push(`  packages ${s.packages.join(', ')}`);
    const prov = Object.entries(s.provenance).map(([k, v]) => `${k}=${v}`);
    if (prov.length > 0) lines.push(`  provenance ${prov.join(' ')}`);
    if (s.diff) {
      lines.push(`  size ${formatBytes(s.diff.sizeBefore)} -> ${formatBytes(s.diff.sizeAfter)}; each machine fetches ${fetchSummary(s.diff)}`);
      for (const p of s.diff.added) lines.push(`  + ${p.name} ${short(p.digest)}`);
      for (const p of s.diff.removed) lines.push(`  - ${p.name} ${short(p.digest)}`);
      for (const c of s.diff.changed) lines.push(`  ~ ${c.name}: ${c.filesAdded} added, ${c.filesRemoved} removed, ${c.filesChanged} changed`);
    }
    if (s.rollout) {
      const r = s.rollout;
      lines.push(`  rollout ${rolloutSummary(s)}, pause ${r.pauseBetweenBatches}, max failures ${r.maxFailures}${r.dependsOn.length ? `, after ${r.dependsOn.join(', ')}` : ''}`);
      for (const b of r.batches) lines.push(`    batch ${b.index + 1}${b.canary ? ' (canary)' : ''}: ${b.machines.join(', ')}`);
      lines.push(`  windows ${r.windows.length === 0 ? 'none' : r.windows.join('; ')}; ${r.windowOpenNow ? 'open now' : r.nextWindow === null ? 'none opens within a week' : `next opens ${r.nextWindow}`}`);
      lines.push(`  on failure: ${r.onFailure}`);
      lines.push(`  unavailability: ${budgetSummary(r)}: ${r.onUnreachable}`);
    }
    lines.push(...checkLines(s.checks, '  '));
  }
  if (plan.repoChanges.length > 0) lines.push('', ...plan.repoChanges.map((c) => `repo: ${c}`));
  lines.push('', ...checkLines(plan.checks, ''));
  for (const c of plan.commits) lines.push(`  ${c.ok ? 'ok  ' : 'BAD '} ${c.oid.slice(0, 12)} ${c.subject}${c.ok ? '' : `: ${c.reason ?? 'untrusted'}`}`);
  lines.push('', plan.verdict);
  return lines.join('\n');
}
