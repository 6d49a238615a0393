import { createHash } from 'node:crypto';

// The fleet page's only style sheet and script, inline so the page is one self-contained file (a CI artefact
// opens from disk) and allowed by hash in the Content-Security-Policy: nothing else may run or load.

/** The page's style sheet: readable without colour (every state also has an icon and a word), phone-sized first. */
export const PAGE_CSS = `
:root{color-scheme:light dark;--bad:#b3261e;--bad-bg:#fde7e6;--warn:#7a4f00;--warn-bg:#fff1cc;--good:#1b6e2a;--good-bg:#e3f4e5;--muted:#5f6368;--line:#d0d4d9}
@media (prefers-color-scheme:dark){:root{--bad:#ff8a80;--bad-bg:#3b1412;--warn:#ffd27a;--warn-bg:#3a2c06;--good:#8fd19e;--good-bg:#12301a;--muted:#a8adb3;--line:#3c4043}}
*{box-sizing:border-box}
body{overflow-wrap:anywhere;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:80rem;padding:0.75rem}
h1{font-size:1.4rem;margin:0.25rem 0}h2{font-size:1.2rem;margin:1.5rem 0 0.5rem}h3{font-size:1rem;margin:1rem 0 0.4rem}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:0.9em;overflow-wrap:anywhere}
.muted,#checked{color:var(--muted)}
.badge{display:inline-block;border:1px solid currentColor;border-radius:0.3rem;padding:0 0.4rem;font-size:0.9rem;font-weight:600}
.tone-bad{color:var(--bad)}.tone-warn{color:var(--warn)}.tone-good{color:var(--good)}
tr.tone-bad{background:var(--bad-bg)}tr.tone-warn{background:var(--warn-bg)}
tr.tone-bad th,tr.tone-warn th{border-left:0.35rem solid currentColor}
.banner{border:2px solid currentColor;border-radius:0.4rem;padding:0.5rem 0.75rem;margin:0.5rem 0}
.banner.tone-bad{background:var(--bad-bg)}.banner.tone-warn{background:var(--warn-bg)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:0.15rem 0.75rem;margin:0.25rem 0}
dl.facts dt{font-weight:600}dl.facts dd{margin:0;min-width:0}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%}
caption{text-align:left;color:var(--muted);padding:0.2rem 0}
th,td{text-align:left;vertical-align:top;padding:0.3rem 0.5rem;border-bottom:1px solid var(--line)}
thead th{border-bottom:2px solid var(--line)}
ol.batches,ol.timeline,ul.plain{padding-left:1.25rem;margin:0.25rem 0}
ol.batches li,ol.timeline li{margin:0.2rem 0}
@media (max-width:40rem){
 table.machines thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
 table.machines tr{display:block;border:1px solid var(--line);border-radius:0.4rem;margin:0 0 0.6rem;padding:0.25rem 0}
 table.machines th,table.machines td{display:block;border:0;padding:0.15rem 0.6rem}
 table.machines td::before{content:attr(data-label) ": ";font-weight:600}
}
`;

/**
 * The live page's script: polls `fragment` (the server-rendered <main>) with its ETag and swaps it in when it
 * changed, so there is one renderer (the server's) and an unchanged fleet costs a 304. A static snapshot has
 * no data-live and runs nothing.
 */
export const PAGE_SCRIPT = `
(function () {
  var main = document.getElementById('fleet');
  var live = document.getElementById('live');
  var checked = document.getElementById('checked');
  if (!main || main.getAttribute('data-live') !== '1') return;
  var every = Number(main.getAttribute('data-interval')) || 3000;
  var etag = main.getAttribute('data-etag') || '';
  function tick() {
    fetch('fragment', { cache: 'no-store', headers: etag ? { 'If-None-Match': etag } : {} })
      .then(function (r) {
        checked.textContent = 'checked ' + new Date().toLocaleTimeString();
        if (r.status === 304) return;
        if (r.status !== 200) throw new Error('HTTP ' + r.status);
        etag = r.headers.get('ETag') || '';
        return r.text().then(function (text) {
          main.innerHTML = text;
          var head = main.querySelector('[data-title]');
          if (head) document.title = head.getAttribute('data-title');
          live.textContent = 'The fleet changed at ' + new Date().toLocaleTimeString() + '.';
        });
      })
      .catch(function (e) { live.textContent = 'Cannot reach the page server (' + e.message + '); retrying.'; })
      .then(function () { setTimeout(tick, every); });
  }
  setTimeout(tick, every);
})();
`;

function cspHash(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/**
 * The Content-Security-Policy of the page: only its own style sheet and (when live) script, fetches to its own
 * origin, nothing framed, no forms, no base URL. The meta copy of a snapshot cannot carry frame-ancestors.
 */
export function pageCsp(live: boolean, forMeta = false): string {
  return [
    "default-src 'none'",
    `style-src ${cspHash(PAGE_CSS)}`,
    live ? `script-src ${cspHash(PAGE_SCRIPT)}` : "script-src 'none'",
    live ? "connect-src 'self'" : null,
    "img-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    forMeta ? null : "frame-ancestors 'none'",
  ].filter((d) => d !== null).join('; ');
}
