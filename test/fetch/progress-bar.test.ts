import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgressBar } from '../../src/fetch/progress-bar.js';

describe('progress bar', () => {
  it('shows bytes, objects, rate and ETA; throttles redraws; clears the line when done', () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    let now = 0;
    const bar = createProgressBar(out, () => now);
    now = 1000;
    bar({ phase: 'objects', bytesDone: 10e6, bytesOwnBuffer: 0, bytesTotal: 40e6, objectsDone: 5, objectsTotal: 20 });
    expect(text).toContain('10.0 MB/40.0 MB');
    expect(text).toContain('5/20 objects');
    expect(text).toContain('10.0 MB/s');
    expect(text).toContain('ETA 3s');
    const before = text.length;
    now = 1050;
    bar({ phase: 'objects', bytesDone: 11e6, bytesOwnBuffer: 0, bytesTotal: 40e6, objectsDone: 6, objectsTotal: 20 });
    expect(text.length).toBe(before);
    bar({ phase: 'done', bytesDone: 40e6, bytesOwnBuffer: 0, bytesTotal: 40e6, objectsDone: 20, objectsTotal: 20 });
    expect(text.endsWith('\r\u001b[2K')).toBe(true);
  });
});
