import { describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors/index.js';
import { openStore } from '../../src/store/open-store.js';
import { parseStoreUrl, redactUrl } from '../../src/store/store-url.js';

describe('parseStoreUrl / openStore', () => {
  it.each([
    ['/var/lib/flotilla/store', { kind: 'fs', root: '/var/lib/flotilla/store' }],
    ['file:///srv/store', { kind: 'fs', root: '/srv/store' }],
    [
      's3://bucket-1/deep/prefix?endpoint=http://127.0.0.1:9000&region=eu-1&forcePathStyle=true',
      { kind: 's3', bucket: 'bucket-1', prefix: 'deep/prefix/', endpoint: 'http://127.0.0.1:9000', region: 'eu-1', forcePathStyle: true },
    ],
    ['s3://bucket-1', { kind: 's3', bucket: 'bucket-1', prefix: '', forcePathStyle: false }],
    ['https://cdn.example/flotilla', { kind: 'http', base: 'https://cdn.example/flotilla/', writable: false }],
    ['http://h/x/?writable=1', { kind: 'http', base: 'http://h/x/', writable: true }],
  ])('parses %s', (url, want) => {
    expect(parseStoreUrl(url)).toMatchObject(want);
  });

  it.each([
    ['ftp://host/x', /unknown scheme/],
    ['s3://B/x', /bucket name/],
    ['s3://bucket/x?endpoint=ftp://e', /endpoint must be/],
    ['file://otherhost/x', /must not name a host/],
    ['', /empty/],
  ])('refuses %s with a ConfigError naming it', (url, why) => {
    let err: unknown;
    try {
      openStore(url);
    } catch (e) {
      err = e;
    }
    expect(hasCode(err, 'ConfigError')).toBe(true);
    expect((err as Error).message).toMatch(why);
  });

  it('never prints credentials', () => {
    expect(redactUrl('https://user:hunter2@host/x?token=abc&a=1')).toBe('https://host/x?token=REDACTED&a=1');
    let err: unknown;
    try {
      openStore('gopher://user:hunter2@host/');
    } catch (e) {
      err = e;
    }
    expect(String((err as Error).message)).not.toContain('hunter2');
    expect(openStore('https://user:hunter2@host/x').url).not.toContain('hunter2');
  });

  it('opens HTTP read-only unless asked, and the others writable', () => {
    expect(openStore('http://127.0.0.1:1/').capabilities).toEqual({ write: false, list: false, conditionalWrites: 'none' });
    expect(openStore('http://127.0.0.1:1/', { writable: true }).capabilities.write).toBe(true);
    expect(openStore('s3://bucket/?endpoint=http://127.0.0.1:1').capabilities).toEqual({ write: true, list: true, conditionalWrites: 'probe' });
    expect(openStore('/tmp/x', { writable: false }).capabilities.write).toBe(false);
  });
});
