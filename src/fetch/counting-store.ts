import type { Store } from '../store/store.js';

/** A request counter shared by wrapped stores. */
export interface RequestCounter {
  requests: number;
}

/** Wraps a store so every call (get, getBytes, getIfChanged, readInto, localPath, head, list, put, delete) increments `counter.requests`. */
export function countRequests(store: Store, counter: RequestCounter): Store {
  const count = <A extends unknown[], R>(f: (...a: A) => Promise<R>) => (...a: A): Promise<R> => {
    counter.requests += 1;
    return f(...a);
  };
  const countSync = <A extends unknown[], R>(f: (...a: A) => R) => (...a: A): R => {
    counter.requests += 1;
    return f(...a);
  };
  return {
    url: store.url,
    capabilities: store.capabilities,
    get: count(store.get.bind(store)),
    getBytes: count(store.getBytes.bind(store)),
    ...(store.localPath ? { localPath: countSync(store.localPath.bind(store)) } : {}),
    ...(store.getIfChanged ? { getIfChanged: count(store.getIfChanged.bind(store)) } : {}),
    ...(store.readInto ? { readInto: count(store.readInto.bind(store)) } : {}),
    put: count(store.put.bind(store)),
    head: count(store.head.bind(store)),
    list: count(store.list.bind(store)),
    delete: count(store.delete.bind(store)),
    isNotFound: (err) => store.isNotFound(err),
    close: () => store.close(),
  };
}
