import type { TimelineEvent } from './fleet-timeline.js';
import type { BatchRow, MachineRow, QuarantineRow, SetPage } from './fleet-page.js';
import type { PauseView } from './read-fleet.js';
import { HEALTH_LOOK, PHASE_LOOK, STATE_LOOK, shortDigest, shortTime, toneClass } from './page-look.js';
import { html, type SafeHtml } from './safe-html.js';

function icon(text: string): SafeHtml {
  return html`<span aria-hidden="true">${text}</span> `;
}

function time(iso: string | null): SafeHtml {
  return iso === null ? html`-` : html`<time datetime="${iso}">${shortTime(iso)}</time>`;
}

function digest(d: string | null): SafeHtml {
  return d === null ? html`-` : html`<code title="${d}">${shortDigest(d)}</code>`;
}

function machineRow(m: MachineRow, batchLabel: (i: number | null) => string): SafeHtml {
  const look = STATE_LOOK[m.state];
  const cls = toneClass(look);
  return html`<tr class="${cls}" data-machine="${m.machine}" data-state="${m.state}">
<th scope="row">${m.machine}</th>
<td data-label="State"><span class="state">${icon(look.icon)}${m.state}</span>${m.slot === null ? null : html` <span class="muted">(holds slot ${String(m.slot)})</span>`}</td>
<td data-label="Batch">${batchLabel(m.batch)}</td>
<td data-label="Generation">${m.generation === null ? '-' : String(m.generation)}</td>
<td data-label="Runs">${digest(m.currentDigest)}${m.currentDigest !== null && !m.onDesired ? html` <span class="muted">(not desired)</span>` : null}</td>
<td data-label="Since">${time(m.since)}</td>
<td data-label="Reason">${m.reason ?? '-'}${m.message ? html`<br><span class="muted">${m.message.slice(0, 300)}</span>` : null}</td>
</tr>`;
}

function batchItem(b: BatchRow): SafeHtml {
  const look = PHASE_LOOK[b.phase];
  return html`<li class="${toneClass(look)}" data-phase="${b.phase}"><strong>${b.label}</strong>: ${icon(look.icon)}${look.word} (${b.machines.join(', ')})</li>`;
}

function quarantineItem(set: string, q: QuarantineRow): SafeHtml {
  const failures = q.failures.map((f) => html`<li>${f.machine}: ${f.reason} at ${time(f.time)}${f.message ? html` <span class="muted">${f.message.slice(0, 300)}</span>` : null}</li>`);
  return html`<li class="tone-bad"><span aria-hidden="true">⊘</span> Quarantined <code>${q.digest}</code>; no machine switches to it.
<ul class="plain">${failures}</ul>
Clear it once fixed: <code>flotilla unquarantine ${set} ${q.digest}</code></li>`;
}

function pauseBanner(set: string, p: PauseView | null): SafeHtml | null {
  if (p === null) return null;
  return html`<p class="banner tone-warn" data-pause="1"><strong><span aria-hidden="true">‖</span> Paused</strong> by ${p.by} at ${time(p.at)}${p.reason ? html`: ${p.reason}` : null}. No machine of ${set} takes a slot until <code>flotilla resume ${set}</code>.</p>`;
}

/** One set: its facts, machines (a table that becomes cards on a phone), rollout batches and slots, quarantines. */
export function renderSet(s: SetPage): SafeHtml {
  const look = HEALTH_LOOK[s.health];
  const id = `set-${s.set}`;
  const labelOf = (i: number | null): string => (i === null ? '-' : (s.rollout.batches[i]?.label ?? String(i)));
  const slots = s.rollout.slots.filter((h) => h.state === 'held');
  return html`<section id="${id}" aria-labelledby="${id}-h" data-set="${s.set}" data-health="${s.health}">
<h2 id="${id}-h">Set ${s.set} <span class="badge ${toneClass(look)}">${icon(look.icon)}${s.health}</span></h2>
<dl class="facts">
<dt>Desired digest</dt><dd><code>${s.desiredDigest ?? '-'}</code></dd>
<dt>Ready</dt><dd>${String(s.readyCount)} of ${String(s.machines.length)} machine(s)</dd>
</dl>
${pauseBanner(s.set, s.pause)}
<h3>Machines</h3>
<div class="scroll"><table class="machines">
<caption>Machines of ${s.set} in rollout order</caption>
<thead><tr><th scope="col">Machine</th><th scope="col">State</th><th scope="col">Batch</th><th scope="col">Generation</th><th scope="col">Runs</th><th scope="col">Since</th><th scope="col">Reason</th></tr></thead>
<tbody>
${s.machines.map((m) => machineRow(m, labelOf))}
</tbody>
</table></div>
${s.removed.length > 0 ? html`<p class="muted">Removed from the set, reports kept until <code>flotilla gc --store</code>: ${s.removed.map((r) => r.machine).join(', ')}.</p>` : null}
<h3>Rollout</h3>
<p>Rollout <code>${s.rollout.id}</code> to ${digest(s.desiredDigest)}: ${String(s.rollout.batches.length)} batch(es), ${String(s.rollout.capacity)} slot(s). ${slots.length === 0 ? 'No slot is held.' : html`Held: ${slots.map((h) => html`slot ${String(h.slot)} by ${h.machine} (token ${String(h.token)}) `)}`}</p>
<ol class="batches" start="0">${s.rollout.batches.map(batchItem)}</ol>
<h3>Quarantines</h3>
${s.quarantines.length === 0 ? html`<p>None.</p>` : html`<ul class="plain">${s.quarantines.map((q) => quarantineItem(s.set, q))}</ul>`}
</section>`;
}

/** The recent events (see timelineOf), newest first. */
export function renderEvents(events: readonly TimelineEvent[]): SafeHtml {
  const items = events.map((e) => html`<li class="${e.tone === 'bad' ? 'tone-bad' : e.tone === 'good' ? 'tone-good' : ''}">${time(e.time)} <strong>${e.set}/${e.machine}</strong>: ${e.what.slice(0, 300)}</li>`);
  return html`<section aria-labelledby="events-h">
<h2 id="events-h">Recent events</h2>
<p class="muted">From each machine's signed deployment log (or, for a machine without one, its last report and the quarantine records), newest first.</p>
${items.length === 0 ? html`<p>None reported yet.</p>` : html`<ol class="timeline">${items}</ol>`}
</section>`;
}
