import { budgetSummary, changeSummary, fetchSummary, formatBytes, PLAN_MARKER, rolloutSummary, short, statusMark, worst } from './render-common.js';
import type { Plan, PlanCheck, PlanSet } from './types.js';

// Commit subjects, messages and provenance come from the PR and the store: they are escaped so they can
// neither close a <details> block, inject HTML, nor break a table row.
const html = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const code = (s: string): string => `\`${s.replace(/`/g, "'").replace(/\n/g, ' ')}\``;
const cell = (s: string): string => html(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');

function checkLines(checks: PlanCheck[]): string[] {
  return checks.flatMap((c) => [
    `- ${statusMark(c.status, true)} **${c.name}**: ${cell(c.message)}`,
    ...(c.details ?? []).map((d) => `  - ${code(d)}`),
  ]);
}

function diffLines(s: PlanSet): string[] {
  const d = s.diff;
  if (!d) return s.aspects.includes('closure') || s.kind === 'added' ? ['The closure could not be read, so there is no diff.'] : [];
  const lines = [
    `| | |`,
    `|---|---|`,
    `| size | ${formatBytes(d.sizeBefore)} → ${formatBytes(d.sizeAfter)} |`,
    `| fetch per machine | ${fetchSummary(d)} |`,
    '',
    ...d.added.map((p) => `- ➕ ${code(p.name)} ${code(short(p.digest))}`),
    ...d.removed.map((p) => `- ➖ ${code(p.name)} ${code(short(p.digest))}`),
    ...d.changed.flatMap((c) => [
      `- ✏️ ${code(c.name)} ${code(short(c.from))} → ${code(short(c.to))}: ${c.filesAdded} added, ${c.filesRemoved} removed, ${c.filesChanged} changed`,
      ...(c.paths.length > 0 ? [`  ${c.paths.map(code).join(' ')}`] : []),
    ]),
  ];
  return lines;
}

function rolloutLines(s: PlanSet): string[] {
  const r = s.rollout;
  if (!r) return [];
  return [
    `**Rollout**: batch size ${r.batchSize}, canary ${r.canary}, pause ${r.pauseBetweenBatches} between batches, max failures ${r.maxFailures}` +
      (r.dependsOn.length > 0 ? `, after ${r.dependsOn.map(code).join(', ')}` : ''),
    '',
    ...r.batches.map((b) => `${b.index + 1}. ${b.canary ? '(canary) ' : ''}${b.machines.map(code).join(', ')}`),
    '',
    `Windows: ${r.windows.length === 0 ? 'none (any time)' : cell(r.windows.join('; '))}. ` +
      (r.windowOpenNow ? 'Open now.' : r.nextWindow === null ? '**No window opens within a week.**' : `Next opening: ${r.nextWindow}.`),
    '',
    `On failure: ${cell(r.onFailure)}.`,
    '',
    `Unavailability: ${budgetSummary(r)}: ${cell(r.onUnreachable)}.`,
  ];
}

function setDetails(s: PlanSet): string[] {
  const prov = Object.entries(s.provenance).map(([k, v]) => `${k}=${v}`);
  return [
    `<details><summary>${statusMark(worst(s.checks.map((c) => c.status)), true)} <b>${html(s.name)}</b> (${html(s.file)}): ${html(changeSummary(s))}</summary>`,
    '',
    `${code(s.from ?? '(none)')} → ${code(s.to ?? '(none)')}`,
    '',
    ...(s.packages.length > 0 ? [`Packages: ${s.packages.map(code).join(', ')}`, ''] : []),
    ...(prov.length > 0 ? [`Provenance: ${prov.map(code).join(', ')}`, ''] : []),
    ...checkLines(s.checks),
    '',
    ...diffLines(s),
    '',
    ...rolloutLines(s),
    '',
    '</details>',
  ];
}

/**
 * Renders the plan as a PR comment: the hidden marker, the verdict, a summary table, then one <details>
 * block per set, the repo-level checks and the commits. Deterministic for a given plan.
 */
export function renderPlanMarkdown(plan: Plan): string {
  const rows = plan.sets.map((s) => {
    const fetch = s.diff ? formatBytes(s.diff.bytesToFetch) : '-';
    const closure = s.from === s.to ? code(short(s.to)) : `${code(short(s.from))} → ${code(short(s.to))}`;
    return `| ${statusMark(worst(s.checks.map((c) => c.status)), true)} | ${cell(s.name)} | ${cell(changeSummary(s))} | ${closure} | ${cell(s.packages.join(', ') || '-')} | ${fetch} | ${cell(rolloutSummary(s))} |`;
  });
  const lines = [
    PLAN_MARKER,
    `## Flotilla plan ${code(plan.base.slice(0, 12))}..${code(plan.head.slice(0, 12))}`,
    '',
    `**${plan.ok ? '✅' : '❌'} ${plan.verdict}**`,
    '',
  ];
  if (rows.length > 0) lines.push('| | Set | Change | Closure | Packages | Fetch / machine | Rollout |', '|---|---|---|---|---|---|---|', ...rows, '');
  if (plan.repoChanges.length > 0) lines.push('**Repo changes**', '', ...plan.repoChanges.map((c) => `- ⚠️ ${cell(c)}`), '');
  lines.push(...checkLines(plan.checks), '');
  for (const s of plan.sets) lines.push(...setDetails(s), '');
  lines.push(
    `<details><summary>Commits (${plan.commits.length}), checked against ${plan.commitTrust}</summary>`,
    '',
    ...plan.commits.map((c) => `- ${c.ok ? '✅' : '❌'} ${code(c.oid.slice(0, 12))} ${cell(c.subject)}: ${cell(c.ok ? `${c.format ?? ''} ${c.signer ?? ''}`.trim() : (c.reason ?? 'untrusted'))}`),
    '',
    '</details>',
    '',
    `<sub>stores: ${plan.stores.map(code).join(', ') || '(none)'}; windows judged at ${plan.generatedAt}</sub>`,
  );
  return `${lines.join('\n')}\n`;
}
