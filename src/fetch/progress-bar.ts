import type { Writable } from 'node:stream';
import type { FetchProgress } from './fetch-closure.js';

function mb(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}

/**
 * A one-line progress bar for a terminal (bytes, objects, rate, ETA), redrawn at most every 100 ms and
 * cleared when done. Returns the onProgress callback for fetchClosure.
 */
export function createProgressBar(out: Writable, now: () => number = Date.now): (p: FetchProgress) => void {
  const t0 = now();
  let last = 0;
  return (p) => {
    const t = now();
    if (p.phase === 'done') {
      out.write('\r\u001b[2K');
      return;
    }
    if (t - last < 100 && p.objectsDone !== p.objectsTotal) return;
    last = t;
    const secs = Math.max(0.001, (t - t0) / 1000);
    const rate = p.bytesDone / secs;
    const eta = rate > 0 ? Math.max(0, (p.bytesTotal - p.bytesDone) / rate) : 0;
    const frac = p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : 1;
    const bar = '#'.repeat(Math.round(frac * 24)).padEnd(24, '.');
    out.write(`\r\u001b[2K${p.phase} [${bar}] ${mb(p.bytesDone)}/${mb(p.bytesTotal)} ${p.objectsDone}/${p.objectsTotal} objects ${mb(rate)}/s ETA ${eta.toFixed(0)}s`);
  };
}
