import { describe, expect, it } from 'vitest';
import { renderFleetDocument, renderFleetMain } from '../../src/fleet/render-html.js';
import { pageCsp, PAGE_CSS, PAGE_SCRIPT } from '../../src/fleet/page-assets.js';
import { escapeHtml, html } from '../../src/fleet/safe-html.js';
import { failedRollout, NEW, OLD } from './fleet-page-fixture.js';
import { HISTORY_RECORD_SCHEMA, type HistoryRecord } from '../../src/history/history-record.js';

describe('the fleet page model', () => {
  const { page, canary } = failedRollout();

  it('names the batches, their phases, the slot holder and the quarantine failures', () => {
    const set = page.sets[0]!;
    expect(page.result).toBe('failed');
    expect(set.rollout.batches.map((b) => [b.label, b.phase])).toEqual([['canary', 'failed'], ['batch 1', 'waiting']]);
    expect(set.machines.find((m) => m.machine === canary)).toMatchObject({ state: 'RolledBack', slot: 0, since: '2026-01-06T11:58:00.000Z', commit: 'a'.repeat(40) });
    expect(set.quarantines).toEqual([{ digest: NEW, failures: [{ machine: canary, reason: 'HealthCheckFailed', message: 'exit 1', time: '2026-01-06T11:58:00.000Z' }] }]);
  });

  it('lists one event per tick and machine, newest first, the quarantine among them', () => {
    expect(page.events.map((e) => [e.machine, e.what.split(': ')[0], e.tone])).toEqual([
      ...page.sets[0]!.machines.filter((m) => m.machine !== canary).map((m) => [m.machine, 'Stalled True', 'bad']).sort(),
      [canary, 'Stalled True', 'bad'],
      [canary, `quarantined ${NEW}`, 'bad'],
    ]);
  });
});

describe('the fleet page as HTML', () => {
  const { page, canary } = failedRollout();
  const doc = renderFleetDocument(page);

  it('escapes everything machines wrote: a message cannot become markup', () => {
    expect(doc).not.toContain('<script>alert(1)</script>');
    expect(doc).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot;');
    expect(html`<b title="${'"><i>'}">${'<i>'}</b>`.text).toBe('<b title="&quot;&gt;&lt;i&gt;">&lt;i&gt;</b>');
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
  });

  it('says every state in words with an icon, and colours failures red and a rollout amber', () => {
    expect(doc).toMatch(new RegExp(`<tr class="tone-bad" data-machine="${canary}" data-state="RolledBack">`));
    expect(doc).toContain('<span aria-hidden="true">↶</span> RolledBack');
    expect(doc).toContain('<span aria-hidden="true">◷</span> Waiting');
    expect(doc).toContain('<strong>canary</strong>: <span aria-hidden="true">✖</span> failed');
    expect(PAGE_CSS).toMatch(/\.tone-bad\{color:var\(--bad\)\}\.tone-warn\{color:var\(--warn\)\}/);
  });

  it('is a phone-sized, accessible document: viewport, language, headings, a captioned table with scoped headers', () => {
    expect(doc).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(doc).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(doc).toContain('<h1>Flotilla fleet</h1>');
    expect(doc).toContain('<h2 id="set-web-h">Set web');
    expect(doc).toContain('<caption>Machines of web in rollout order</caption>');
    expect(doc).toContain('<th scope="col">State</th>');
    expect(doc).toContain(`<th scope="row">${canary}</th>`);
    expect(doc).toContain('<td data-label="Reason">');
  });

  it('a snapshot runs no script; the live page runs only its own, allowed by hash', () => {
    expect(doc).not.toContain('<script');
    expect(doc).toContain(`content="${escapeHtml(pageCsp(false, true))}"`);
    expect(pageCsp(false)).toContain("script-src 'none'");
    const live = renderFleetDocument(page, { live: { intervalMs: 2000 } });
    expect(live).toContain(`<script>${PAGE_SCRIPT}</script>`);
    expect(live).toContain('data-live="1" data-interval="2000" data-etag="');
    expect(pageCsp(true)).toMatch(/script-src 'sha256-[A-Za-z0-9+/]+=*'; connect-src 'self'/);
    expect(pageCsp(true)).toContain("frame-ancestors 'none'");
  });

  it('renders the same fragment for the same fleet (no read time inside), so an unchanged fleet is a 304', () => {
    const again = failedRollout().page;
    expect(renderFleetMain({ ...again, generatedAt: '2030-01-01T00:00:00.000Z' })).toBe(renderFleetMain(page));
  });

  it('shows a pause when the view model has one, and none otherwise', () => {
    expect(doc).not.toContain('data-pause');
    const paused = renderFleetMain(failedRollout({ by: 'alice@ops', at: '2026-01-06T11:00:00.000Z', reason: 'db migration' }).page);
    expect(paused).toContain('data-pause="1"');
    expect(paused).toMatch(/Paused<\/strong> by alice@ops at <time datetime="2026-01-06T11:00:00.000Z">2026-01-06 11:00:00Z<\/time>: db migration/);
    expect(paused).toContain('flotilla resume web');
  });

  it('states a failed refresh instead of hiding it', () => {
    expect(renderFleetMain(page, { message: 'TimeoutError: the store did not answer' })).toContain('role="alert"><strong>Could not refresh:</strong> TimeoutError: the store did not answer.');
  });
});

describe('the fleet page timeline from the deployment log', () => {
  const rec = (machine: string, seq: number, event: HistoryRecord['event'], from: string | null, to: string | null, time: string): HistoryRecord => ({
    schema: HISTORY_RECORD_SCHEMA, set: 'web', machine, seq, prev: seq === 1 ? null : 'f'.repeat(64), event, from: from as HistoryRecord['from'], to: to as HistoryRecord['to'],
    generation: 2, commit: 'a'.repeat(40), time, reason: event === 'switch' ? 'Succeeded' : 'HealthCheckFailed', message: 'exit 1', key: 'web:k', signature: 'sig',
  });

  it("tells a logged machine by its records, marks an unverified one, and keeps the others' reports", () => {
    const { page, canary } = failedRollout(null, (c) => ({
      set: 'web', machines: [], problems: [], ok: false,
      timeline: [
        { record: rec(c, 1, 'switch', null, OLD, '2026-01-06T11:00:00.000Z'), where: 'h/1', verified: true },
        { record: rec(c, 2, 'rollback', NEW, OLD, '2026-01-06T11:58:00.000Z'), where: 'h/2', verified: false },
      ],
    }));
    const mine = page.events.filter((e) => e.machine === canary);
    expect(mine.map((e) => [e.what, e.tone])).toEqual([
      [`UNVERIFIED (see flotilla history web): rolled back ${NEW} → ${OLD}: HealthCheckFailed`, 'bad'],
      [`switched nothing → ${OLD} (generation 2 at ${'a'.repeat(12)})`, 'good'],
    ]);
    // Its report's transitions and its quarantine failure are not repeated beside its log; the others' stay.
    expect(page.events.filter((e) => e.machine !== canary).map((e) => e.what.split(': ')[0])).toEqual(['Stalled True', 'Stalled True']);
  });
});
