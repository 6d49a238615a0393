import type { Readable } from 'node:stream';

/** Metadata of one stored object. `etag` is opaque and only meaningful to the same backend's `ifMatch`. */
export interface ObjectInfo {
  key: string;
  size: number;
  etag: string;
  lastModified?: Date;
}

/** Preconditions and hints for `put`. */
export interface PutOptions {
  /** `'*'`: create only if absent (S3 If-None-Match: *, O_EXCL on disk). Fails with PreconditionFailedError. */
  ifNoneMatch?: '*';
  /** Replace only if the current etag equals this one (compare-and-swap). Fails with PreconditionFailedError. */
  ifMatch?: string;
  /** Length of a stream body when known (lets S3 avoid multipart for small streams). */
  contentLength?: number;
  contentType?: string;
  signal?: AbortSignal;
}

/** Options for reads. */
export interface GetOptions {
  /** Abort with SizeLimitError as soon as more bytes than this arrive (never trust Content-Length). */
  maxBytes?: number;
  signal?: AbortSignal;
}

/**
 * What a conditional read found: the object still has the etag the caller gave (one request, no body), or
 * its bytes and current etag.
 */
export type ConditionalGetResult = { notModified: true } | { notModified: false; bytes: Buffer; etag: string };

/** One page of a listing. `cursor` is absent on the last page. */
export interface ListPage {
  items: ObjectInfo[];
  cursor?: string;
}

export interface ListOptions {
  cursor?: string;
  /** Page size; backends may return fewer. Default 1000. */
  limit?: number;
}

/**
 * What a backend can do, declared by the backend from its kind and how it was opened; callers ask for a
 * capability by name instead of guessing from the URL. Nothing here is proven on the wire: a backend that
 * declares conditional writes is believed only after `probeConditionalWrites` says so.
 */
export interface StoreCapabilities {
  /** `put` and `delete` are allowed (false: they throw UnsupportedOperationError). */
  write: boolean;
  /** `list` works (false: it throws UnsupportedOperationError, e.g. a static HTTP host). */
  list: boolean;
  /**
   * `'probe'`: the backend implements create-if-absent and compare-and-swap, and the server behind it must
   * prove it with the precondition probe before leases rely on it. `'none'`: it cannot (plain HTTP).
   */
  conditionalWrites: 'probe' | 'none';
}

/**
 * True when `store` may hold leases, status and quarantines: writable, listable, with conditional writes
 * declared. The precondition probe still has to pass before a rollout relies on it.
 */
export function canCoordinate(store: Pick<Store, 'capabilities'>): boolean {
  const c = store.capabilities;
  return c.write && c.list && c.conditionalWrites === 'probe';
}

/**
 * Takes a view of an object's next bytes, a window on a buffer the reader reuses for its next read:
 * undefined when done with it already (the reader reads on at once), else a promise the reader waits for,
 * the view valid until it settles.
 */
export type ConsumeView = (view: Buffer) => Promise<void> | undefined;

/**
 * A content-addressed object store. Keys are relative slash-separated paths built by `keys.ts` only.
 * Every method fails with a FlotillaError: NotFoundError (also recognised by `isNotFound`),
 * PreconditionFailedError, UnsupportedOperationError, TransportError, SizeLimitError, TimeoutError.
 * Backends do not hash: callers that know a digest verify it while streaming (see `verify-stream.ts`).
 */
export interface Store {
  /** The store's URL with credentials removed, for messages. */
  readonly url: string;
  readonly capabilities: StoreCapabilities;
  /** Streams an object. The stream errors with SizeLimitError past `maxBytes`. */
  get(key: string, options?: GetOptions): Promise<Readable>;
  /**
   * Local backends only (the directory store): the path of the object's file (the key is checked, its
   * existence is not), so a fetch can copy it inside the kernel instead of streaming it through the
   * process. The file is as untrusted as any download: callers copy it, then hash what landed.
   */
  localPath?(key: string): string;
  /** Reads a whole small object; `maxBytes` is required so nothing unbounded is buffered. */
  getBytes(key: string, options: GetOptions & { maxBytes: number }): Promise<Buffer>;
  /**
   * Plain HTTP stores only: streams the object, which must be `size` bytes, to `consume` through one read
   * buffer reused for every read (http-read-into.ts), with the store's deadlines and signal. Resolves
   * 'unsupported', having consumed nothing, when the object cannot be read that way (a redirect, an error
   * status, chunked, a failure before its first byte): `get` it then, which retries and maps errors.
   */
  readInto?(key: string, size: number, consume: ConsumeView, options?: { signal?: AbortSignal }): Promise<'done' | 'unsupported'>;
  /**
   * Reads a whole small object unless its etag still equals `etag` (HTTP `If-None-Match`, S3 GetObject
   * IfNoneMatch → 304): an unchanged object costs one request and no body. `etag` undefined reads it
   * unconditionally. Fails as getBytes does (NotFoundError when absent). Optional for wrappers and doubles:
   * `readIfChanged` (conditional-get.ts) falls back to head + getBytes.
   */
  getIfChanged?(key: string, etag: string | undefined, options: GetOptions & { maxBytes: number }): Promise<ConditionalGetResult>;
  /** Writes an object atomically: readers see the old bytes or the new, never a part. Returns its etag. */
  put(key: string, body: Buffer | Readable, options?: PutOptions): Promise<{ etag: string }>;
  head(key: string, options?: { signal?: AbortSignal }): Promise<ObjectInfo>;
  /** One page of keys under `prefix`, in lexicographic order. */
  list(prefix: string, options?: ListOptions): Promise<ListPage>;
  /** Deletes a key; deleting a missing key is not an error. */
  delete(key: string, options?: { ifMatch?: string }): Promise<void>;
  /** True when `err` means "no such object" on this backend. */
  isNotFound(err: unknown): boolean;
  /** Releases sockets and handles. */
  close(): Promise<void>;
}

/** Iterates every object under `prefix`, page by page. */
export async function* listAll(store: Store, prefix: string, pageSize = 1000): AsyncGenerator<ObjectInfo> {
  let cursor: string | undefined;
  do {
    const page = await store.list(prefix, cursor === undefined ? { limit: pageSize } : { cursor, limit: pageSize });
    yield* page.items;
    cursor = page.cursor;
  } while (cursor !== undefined);
}
