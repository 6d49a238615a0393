import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors/index.js';
import { openStore } from '../../src/store/open-store.js';
import { parseStoreUrl, redactUrl } from '../../src/store/store-url.js';
import { canCoordinate } from '../../src/store/store.js';
import { CLI } from '../helpers/cli-bin.js';

const exec = promisify(execFile);

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
    [
      'https://h/x?timeout=90s&connectTimeout=3s&idleTimeout=2m&attempts=5&allowRedirectTo=https://cdn.example,http://b:81',
      {
        kind: 'http',
        base: 'https://h/x/',
        deadlines: { timeoutMs: 90_000, connectTimeoutMs: 3_000, idleTimeoutMs: 120_000, attempts: 5 },
        allowRedirectTo: ['https://cdn.example', 'http://b:81'],
      },
    ],
    ['s3://bucket-1?timeout=500ms', { kind: 's3', deadlines: { timeoutMs: 500, connectTimeoutMs: 10_000, idleTimeoutMs: 30_000, attempts: 3 } }],
  ])('parses %s', (url, want) => {
    expect(parseStoreUrl(url)).toMatchObject(want);
  });

  it.each([
    ['ftp://host/x', /unknown scheme/],
    ['s3://B/x', /bucket name/],
    ['s3://bucket/x?endpoint=ftp://e', /endpoint must be/],
    ['file://otherhost/x', /must not name a host/],
    ['', /empty/],
    ['s3://bucket/x?endpont=http://e', /unknown query parameter "endpont" \(known: endpoint, region, forcePathStyle, connectTimeout, timeout, idleTimeout, attempts\)/],
    ['https://h/x?writeable=1&tok=2', /unknown query parameters "writeable", "tok" \(known: writable, allowRedirectTo, connectTimeout/],
    ['file:///srv/store?writable=1', /unknown query parameter "writable" \(a directory store takes none\)/],
    ['s3:/bucket', /s3: must be followed by \/\//],
    ['s3:bucket/x', /s3: must be followed by \/\//],
    ['s3://bucket?timeout=soon', /timeout must be a positive duration/],
    ['s3://bucket?connectTimeout=0s', /connectTimeout must be a positive duration/],
    ['http://h/?attempts=0', /attempts must be a whole number from 1 to 10/],
    ['http://h/?allowRedirectTo=ftp://cdn', /allowRedirectTo must list http\(s\) origins/],
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

  it('refuses a missing directory store for reading, saying how to create one; writing may create it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flotilla-missing-'));
    try {
      const missing = join(dir, 'nope');
      for (const url of [missing, `file://${missing}`]) {
        let err: unknown;
        try {
          openStore(url, { mustExist: true });
        } catch (e) {
          err = e;
        }
        expect(hasCode(err, 'ConfigError')).toBe(true);
        expect((err as Error).message).toContain(missing);
        expect((err as Error).message).toContain('flotilla push');
      }
      expect(() => openStore(missing)).not.toThrow();
      expect(() => openStore(dir, { mustExist: true })).not.toThrow();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['pins', []],
    ['show', [`sha256:${'a'.repeat(64)}`]],
  ])('the built CLI `flotilla %s` on a missing directory store fails with ConfigError', async (verb, args) => {
    const dir = await mkdtemp(join(tmpdir(), 'flotilla-missing-'));
    try {
      const r = await exec(process.execPath, [CLI, verb, ...args, '--store', './nope'], { cwd: dir, env: { ...process.env, FLOTILLA_LOG_LEVEL: 'silent' } }).then(
        () => ({ code: 0, err: '' }),
        (e: { code: number; stderr: string }) => ({ code: e.code, err: e.stderr }),
      );
      expect(r.code).toBe(1);
      expect(r.err).toContain(`ConfigError: store ${join(dir, 'nope')} does not exist (flotilla push --store`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
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

  it.each([
    ['/tmp/x', {}, true],
    ['/tmp/x', { writable: false }, false],
    ['s3://bucket/?endpoint=http://127.0.0.1:1', {}, true],
    ['http://127.0.0.1:1/', {}, false],
    ['http://127.0.0.1:1/', { writable: true }, false],
  ] as const)('asks %s (%o) by capability whether it can coordinate rollouts: %s', (url, options, want) => {
    expect(canCoordinate(openStore(url, options))).toBe(want);
  });

  it('opens HTTP read-only unless asked, and the others writable', () => {
    expect(openStore('http://127.0.0.1:1/').capabilities).toEqual({ write: false, list: false, conditionalWrites: 'none' });
    expect(openStore('http://127.0.0.1:1/', { writable: true }).capabilities.write).toBe(true);
    expect(openStore('s3://bucket/?endpoint=http://127.0.0.1:1').capabilities).toEqual({ write: true, list: true, conditionalWrites: 'probe' });
    expect(openStore('/tmp/x', { writable: false }).capabilities.write).toBe(false);
  });
});
