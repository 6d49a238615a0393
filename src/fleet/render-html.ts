import { createHash } from 'node:crypto';
import type { FleetPage } from './fleet-page.js';
import { HEALTH_LOOK, shortTime, toneClass } from './page-look.js';
import { PAGE_CSS, PAGE_SCRIPT, pageCsp } from './page-assets.js';
import { renderEvents, renderSet } from './render-set.js';
import { html, rawHtml } from './safe-html.js';

/** The live page's settings: how often the browser asks for a new fragment. */
export interface LiveOptions {
  intervalMs: number;
}

/** A refresh that failed while an older page is shown: said on the page, never hidden. */
export interface RefreshProblem {
  message: string;
}

/** The page's title, e.g. "failed · fleet · flotilla". */
export function pageTitle(page: FleetPage): string {
  return `${page.result} · fleet · flotilla`;
}

/**
 * The inside of <main>: what the live page swaps in on each change. Carries no read time, so an unchanged
 * fleet renders the same bytes (and its ETag, see fragmentTag, stays the same).
 */
export function renderFleetMain(page: FleetPage, problem?: RefreshProblem): string {
  const look = HEALTH_LOOK[page.result];
  return html`<p class="banner ${toneClass(look)}" data-title="${pageTitle(page)}"><strong><span aria-hidden="true">${look.icon}</span> Fleet ${page.result}</strong>: ${String(page.sets.length)} set(s) at commit <code>${page.commit.slice(0, 12)}</code>, store <code>${page.store}</code>.</p>
${problem ? html`<p class="banner tone-bad" role="alert"><strong>Could not refresh:</strong> ${problem.message}. Showing the last page read.</p>` : null}
${page.sets.length === 0 ? html`<p>The deploy repo declares no sets.</p>` : null}
${page.sets.map(renderSet)}
${renderEvents(page.events)}`.text;
}

/** A strong ETag for a fragment's bytes. */
export function fragmentTag(fragment: string): string {
  return `"${createHash('sha256').update(fragment, 'utf8').digest('base64url').slice(0, 27)}"`;
}

/**
 * The whole page: a self-contained HTML document (inline style and script allowed by hash). `live` makes it
 * poll its server for changes; without it the page is a static snapshot (`flotilla status --html`).
 */
export function renderFleetDocument(page: FleetPage, options: { live?: LiveOptions; problem?: RefreshProblem } = {}): string {
  const main = renderFleetMain(page, options.problem);
  const live = options.live;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${pageCsp(live !== undefined, true)}">
<meta name="generator" content="flotilla">
<title>${pageTitle(page)}</title>
<style>${rawHtml(PAGE_CSS)}</style>
</head>
<body>
<header>
<h1>Flotilla fleet</h1>
<p class="muted">${live ? 'Live: updates itself' : 'Snapshot'}; read at <time datetime="${page.generatedAt}">${shortTime(page.generatedAt)}</time>. <span id="checked"></span></p>
<p id="live" aria-live="polite"></p>
</header>
<main id="fleet"${live ? html` data-live="1" data-interval="${String(live.intervalMs)}" data-etag="${fragmentTag(main)}"` : null}>
${rawHtml(main)}
</main>
${live ? html`<script>${rawHtml(PAGE_SCRIPT)}</script>` : null}
</body>
</html>
`.text;
}
