import * as fs from 'node:fs';

type Promises = typeof fs.promises;

/**
 * A file system client for isomorphic-git's READ paths over one gitdir whose objects do not change while it
 * is used: `stat`, `lstat` and `readdir` answers (including "not found") are remembered, which removes most
 * of isomorphic-git's per-object syscalls (it lists objects/pack and probes loose files on every read).
 * Writes pass through but must not be mixed with reads through the same client (a new pack would stay
 * invisible); callers create one per verification pass, after any fetch.
 */
export function createReadOnlyGitFs(): { promises: Promises } {
  const memo = new Map<string, Promise<unknown>>();
  const remember = <T>(key: string, make: () => Promise<T>): Promise<T> => {
    let p = memo.get(key) as Promise<T> | undefined;
    if (!p) {
      p = make();
      memo.set(key, p);
    }
    return p;
  };
  const base = fs.promises;
  const promises = Object.create(base) as Promises;
  Object.assign(promises, {
    stat: (path: fs.PathLike, opts?: fs.StatOptions) => remember(`stat\0${String(path)}`, () => base.stat(path, opts)),
    lstat: (path: fs.PathLike, opts?: fs.StatOptions) => remember(`lstat\0${String(path)}`, () => base.lstat(path, opts)),
    readdir: (path: fs.PathLike, opts?: unknown) => remember(`readdir\0${String(path)}\0${JSON.stringify(opts ?? null)}`, () => base.readdir(path, opts as undefined)),
  });
  return { promises };
}

const perCache = new WeakMap<object, { promises: Promises }>();

/** The read-only client bound to an isomorphic-git `cache` object, made on first use (see above). */
export function readOnlyFsFor(cache: object): { promises: Promises } {
  let client = perCache.get(cache);
  if (!client) {
    client = createReadOnlyGitFs();
    perCache.set(cache, client);
  }
  return client;
}
