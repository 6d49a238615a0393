import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors/index.js';

/** A store URL taken apart. `display` is the URL without credentials, for messages. */
export type StoreLocation =
  | { kind: 'fs'; root: string; display: string }
  | {
      kind: 's3';
      bucket: string;
      /** Key prefix inside the bucket, '' or ending with '/'. */
      prefix: string;
      endpoint?: string;
      region?: string;
      forcePathStyle: boolean;
      display: string;
    }
  | { kind: 'http'; base: string; writable: boolean; display: string };

/** The URL with user:password and sensitive query values removed, safe to print. */
export function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.username !== '' || u.password !== '') {
      u.username = '';
      u.password = '';
    }
    for (const k of [...u.searchParams.keys()]) {
      if (/secret|token|password|signature|credential|key/i.test(k)) u.searchParams.set(k, 'REDACTED');
    }
    return u.href;
  } catch {
    return raw.replace(/\/\/[^/@]*@/, '//');
  }
}

const truthy = (v: string | null): boolean => v !== null && /^(1|true|yes)$/i.test(v);

/**
 * Parses a store URL: a plain path or `file://` (directory store), `s3://bucket/prefix?endpoint=URL&region=R
 * &forcePathStyle=true` (S3), `http(s)://…` (HTTP; writable only with `?writable=1`, which is removed from
 * the base URL). Throws ConfigError naming the (redacted) URL for anything else.
 */
export function parseStoreUrl(raw: string): StoreLocation {
  const display = redactUrl(raw);
  const bad = (why: string): never => {
    throw new ConfigError(`store URL ${display}: ${why}`, { url: display });
  };
  if (raw.trim() === '') bad('is empty');
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    const root = resolve(raw);
    return { kind: 'fs', root, display: root };
  }
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return bad('is not a valid URL');
  }
  switch (u.protocol) {
    case 'file:': {
      if (u.host !== '' && u.host !== 'localhost') bad('a file:// URL must not name a host');
      const root = fileURLToPath(u);
      return { kind: 'fs', root, display: root };
    }
    case 's3:': {
      const bucket = u.hostname;
      if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) bad('needs a valid bucket name: s3://BUCKET/prefix');
      let prefix = decodeURIComponent(u.pathname.replace(/^\/+/, ''));
      if (prefix !== '' && !prefix.endsWith('/')) prefix += '/';
      if (prefix.includes('//')) bad('prefix has an empty segment');
      const endpoint = u.searchParams.get('endpoint') ?? undefined;
      if (endpoint !== undefined && !/^https?:\/\//.test(endpoint)) bad('endpoint must be an http(s) URL');
      const region = u.searchParams.get('region') ?? undefined;
      const fps = u.searchParams.get('forcePathStyle');
      return {
        kind: 's3',
        bucket,
        prefix,
        ...(endpoint !== undefined ? { endpoint } : {}),
        ...(region !== undefined ? { region } : {}),
        forcePathStyle: fps === null ? endpoint !== undefined : truthy(fps),
        display,
      };
    }
    case 'http:':
    case 'https:': {
      const writable = truthy(u.searchParams.get('writable'));
      u.searchParams.delete('writable');
      u.hash = '';
      if (!u.pathname.endsWith('/')) u.pathname += '/';
      return { kind: 'http', base: u.href, writable, display };
    }
    default:
      return bad(`unknown scheme ${u.protocol} (use a path, file://, s3:// or http(s)://)`);
  }
}
