import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors/index.js';
import { DEADLINE_PARAMS, parseDeadlines, type StoreDeadlines } from './store-options.js';

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
      deadlines: StoreDeadlines;
      display: string;
    }
  | {
      kind: 'http';
      base: string;
      writable: boolean;
      deadlines: StoreDeadlines;
      /** Origins (scheme://host[:port]) a redirect may lead to besides the store's own. */
      allowRedirectTo: string[];
      display: string;
    };

/** The query parameters each kind of store URL accepts; anything else is refused as a likely typo. */
export const KNOWN_PARAMS = {
  fs: [],
  s3: ['endpoint', 'region', 'forcePathStyle', ...DEADLINE_PARAMS],
  http: ['writable', 'allowRedirectTo', ...DEADLINE_PARAMS],
} as const satisfies Record<StoreLocation['kind'], readonly string[]>;

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

function checkParams(u: URL, kind: StoreLocation['kind'], bad: (why: string) => never): void {
  const known: readonly string[] = KNOWN_PARAMS[kind];
  const unknown = [...new Set(u.searchParams.keys())].filter((k) => !known.includes(k));
  if (unknown.length === 0) return;
  const list = known.length === 0 ? 'a directory store takes none' : `known: ${known.join(', ')}`;
  bad(`unknown query parameter${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')} (${list})`);
}

function parseOrigins(values: string[], bad: (why: string) => never): string[] {
  return values
    .flatMap((v) => v.split(','))
    .filter((v) => v !== '')
    .map((v) => {
      let o: URL | undefined;
      try {
        o = new URL(v);
      } catch {
        // refused below
      }
      if (o === undefined || !/^https?:$/.test(o.protocol) || o.origin === 'null') {
        return bad(`allowRedirectTo must list http(s) origins like https://cdn.example, not ${JSON.stringify(v)}`);
      }
      return o.origin;
    });
}

/**
 * Parses a store URL: a plain path or `file://` (directory store), `s3://bucket/prefix?endpoint=URL&region=R
 * &forcePathStyle=true` (S3), `http(s)://…` (HTTP; writable only with `?writable=1`; `allowRedirectTo=ORIGIN`
 * repeatable). S3 and HTTP take `connectTimeout=`, `timeout=`, `idleTimeout=` and `attempts=` (see
 * StoreDeadlines); these are removed from the HTTP base URL. Throws ConfigError naming the (redacted) URL for
 * anything else: an unknown scheme, an unknown query parameter (the known ones are listed), a scheme
 * without `//` (`s3:/bucket` is not a relative directory).
 */
export function parseStoreUrl(raw: string): StoreLocation {
  const display = redactUrl(raw);
  const bad = (why: string): never => {
    throw new ConfigError(`store URL ${display}: ${why}`, { url: display });
  };
  if (raw.trim() === '') bad('is empty');
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(raw);
  if (scheme !== null && !raw.startsWith(`${scheme[0]}//`)) {
    bad(`${scheme[1]}: must be followed by // (e.g. ${scheme[1]}://…); a directory whose name has a colon is written ./${raw}`);
  }
  if (scheme === null) {
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
      checkParams(u, 'fs', bad);
      const root = fileURLToPath(u);
      return { kind: 'fs', root, display: root };
    }
    case 's3:': {
      checkParams(u, 's3', bad);
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
        deadlines: parseDeadlines(u.searchParams, bad),
        display,
      };
    }
    case 'http:':
    case 'https:': {
      checkParams(u, 'http', bad);
      const writable = truthy(u.searchParams.get('writable'));
      const deadlines = parseDeadlines(u.searchParams, bad);
      const allowRedirectTo = parseOrigins(u.searchParams.getAll('allowRedirectTo'), bad);
      for (const k of KNOWN_PARAMS.http) u.searchParams.delete(k);
      u.hash = '';
      if (!u.pathname.endsWith('/')) u.pathname += '/';
      return { kind: 'http', base: u.href, writable, deadlines, allowRedirectTo, display };
    }
    default:
      return bad(`unknown scheme ${u.protocol} (use a path, file://, s3:// or http(s)://)`);
  }
}
