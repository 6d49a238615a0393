import { isAbsolute, resolve } from 'node:path';
import { UsageError } from '../errors/index.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';

/** Returns a required option's value or throws UsageError naming it. */
export function requireOption(value: string | undefined, name: string): string {
  if (value === undefined || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

/** Where a verb runs: relative store paths resolve from `cwd`; `signal` (SIGTERM, SIGINT) aborts every store request. */
export interface StoreArgContext {
  cwd: string;
  signal?: AbortSignal;
}

/**
 * Opens a store URL given on the command line; a bare path is taken relative to `at.cwd`. Reading verbs
 * (`writable` undefined) refuse a directory store that does not exist with ConfigError; writing verbs get
 * `writable: true` and may create it.
 */
export function openStoreArg(url: string, at: StoreArgContext, writable?: boolean): Store {
  const u = /^[a-z][a-z0-9+.-]*:/i.test(url) || isAbsolute(url) ? url : resolve(at.cwd, url);
  return openStore(u, {
    ...(writable === undefined ? { mustExist: true } : { writable }),
    ...(at.signal ? { signal: at.signal } : {}),
  });
}

/** Opens a comma-separated (and/or repeated) list of store URLs, in order (mirrors), for reading. */
export function openStoreList(values: string[], at: StoreArgContext): Store[] {
  const urls = values.flatMap((v) => v.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  if (urls.length === 0) throw new UsageError('--store is required');
  return urls.map((u) => openStoreArg(u, at));
}

/** Parses `KEY=VALUE` pairs; throws UsageError naming the malformed one. */
export function parseKeyValues(values: string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf('=');
    if (i <= 0) throw new UsageError(`${what}: expected KEY=VALUE, got ${JSON.stringify(v)}`);
    out[v.slice(0, i)] = v.slice(i + 1);
  }
  return out;
}

/** Closes every store, ignoring close errors (called on the way out of a verb). */
export async function closeAll(stores: Store[]): Promise<void> {
  await Promise.all(stores.map((s) => s.close().catch(() => undefined)));
}
