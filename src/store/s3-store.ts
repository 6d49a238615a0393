import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';
import { NotFoundError, PreconditionFailedError, SizeLimitError, TimeoutError, UnsupportedOperationError } from '../errors/index.js';
import { guardBody, readCapped } from './byte-cap.js';
import { abortReason, startDeadline, type Deadline } from './deadline.js';
import { idleGuard } from './idle-guard.js';
import { normaliseEtag } from './etag.js';
import { checkKey, checkPrefix } from './key-path.js';
import { isNotModified, mapS3Error } from './s3-errors.js';
import { PartPool, readParts, uploadMultipart } from './s3-upload.js';
import { DEFAULT_DEADLINES, SMALL_BODY_BYTES, type StoreDeadlines } from './store-options.js';
import type { ConditionalGetResult, GetOptions, ListOptions, ListPage, ObjectInfo, PutOptions, Store } from './store.js';

/** Where an S3 store lives and how to talk to it. */
export interface S3StoreOptions {
  bucket: string;
  /** Key prefix inside the bucket: '' or ending with '/'. */
  prefix: string;
  /** A non-AWS endpoint (Ceph RGW, MinIO…); checksums are then sent only when required. */
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  /** The store URL without credentials, for messages. */
  url: string;
  /** Explicit keys; default the standard AWS credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  writable?: boolean;
  /** Stream bodies above this go multipart (default 8 MiB; at least 5 MiB). */
  partSize?: number;
  /** Parts uploaded at once per put (default 3; memory is about (this + 1) × partSize per put). */
  partConcurrency?: number;
  /** Open sockets per store: bounds concurrent requests (default 32). */
  maxSockets?: number;
  /**
   * Connect deadline per attempt, total deadline per small request, socket idle deadline (per attempt, and
   * the stall deadline of object bodies), attempts (the SDK's, with its backoff): see StoreDeadlines.
   */
  deadlines?: Partial<StoreDeadlines>;
  /** Aborts every request of this store at once (the CLI's SIGTERM). */
  signal?: AbortSignal;
}

/** The S3 client configuration a store uses (exported so tests and the bench build the same client). */
export function createS3Client(o: S3StoreOptions): S3Client {
  // The SDK warns on Node 20 about its future support window; the warning is noise on every CLI run.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const agent = { keepAlive: true, maxSockets: o.maxSockets ?? 32 };
  const d = { ...DEFAULT_DEADLINES, ...o.deadlines };
  const custom = o.endpoint !== undefined;
  return new S3Client({
    region: o.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(custom ? { endpoint: o.endpoint } : {}),
    forcePathStyle: o.forcePathStyle ?? custom,
    maxAttempts: d.attempts,
    // Adaptive: the SDK's standard backoff with jitter, plus a client-side rate limit that closes in when S3
    // answers SlowDown or 503, so an agent in a fleet-wide storm backs off instead of hammering the bucket.
    retryMode: 'adaptive',
    ...(o.credentials ? { credentials: { accessKeyId: o.credentials.accessKeyId, secretAccessKey: o.credentials.secretAccessKey, ...(o.credentials.sessionToken ? { sessionToken: o.credentials.sessionToken } : {}) } } : {}),
    // With the SDK's default checksums some S3 servers store aws-chunked framing or refuse streamed bodies.
    ...(custom ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {}),
    requestHandler: {
      httpAgent: new HttpAgent(agent),
      httpsAgent: new HttpsAgent(agent),
      connectionTimeout: d.connectTimeoutMs,
      requestTimeout: d.idleTimeoutMs,
      // Without this the SDK only logs a warning when requestTimeout passes and keeps waiting.
      throwOnRequestTimeout: true,
    },
  });
}

const MIN_PART = 5 << 20;

/**
 * An S3 store (AWS or compatible): create-if-absent is `If-None-Match: *`, compare-and-swap is `If-Match`
 * with the ETag sent unquoted (Ceph RGW 16 rejects the quoted form); returned etags are unquoted. Stream
 * bodies larger than one part go multipart. On servers that ignore conditions on CompleteMultipartUpload
 * (Ceph RGW 16), a conditional multipart put is checked with HEAD just before completion: exact on AWS,
 * check-then-act on RGW (conditional objects in Flotilla are small and go through PutObject). A conditional
 * delete is likewise HEAD-checked first because RGW 16 ignores If-Match on DELETE. Errors: see mapS3Error.
 */
export function createS3Store(o: S3StoreOptions): Store {
  const client = createS3Client(o);
  const { bucket: Bucket, prefix, url } = o;
  const writable = o.writable ?? true;
  const partSize = Math.max(o.partSize ?? 8 << 20, MIN_PART);
  const full = (key: string): string => prefix + checkKey(key);
  const d = { ...DEFAULT_DEADLINES, ...o.deadlines };
  const fail = (err: unknown, op: string, key: string): Error => mapS3Error(err, op, key, url);
  /** The total deadline of one request (none for large bodies), linked to the caller's and the store's signals. */
  const deadline = (op: string, key: string, signal: AbortSignal | undefined, total = true): Deadline =>
    startDeadline(total ? d.timeoutMs : undefined, () => new TimeoutError(`${op} ${key} in ${url}: no answer within ${d.timeoutMs} ms`, { url, key, op }), signal, o.signal);
  /** Sends one command under a deadline; an abort surfaces as its reason (TimeoutError naming store and key). */
  async function call<T>(op: string, key: string, dl: Deadline, send: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await send(dl.signal);
    } catch (err) {
      throw dl.signal.aborted ? abortReason(dl.signal) : fail(err, op, key);
    } finally {
      dl.clear();
    }
  }
  const refuseReadOnly = (op: string, key: string): void => {
    if (!writable) throw new UnsupportedOperationError(`${op} ${key}: store ${url} is read-only`, { url, key, op });
  };

  async function head(key: string, opts: { signal?: AbortSignal } = {}): Promise<ObjectInfo> {
    const r = await call('head', key, deadline('head', key, opts.signal), (abortSignal) =>
      client.send(new HeadObjectCommand({ Bucket, Key: full(key) }), { abortSignal }),
    );
    return {
      key,
      size: r.ContentLength ?? 0,
      etag: normaliseEtag(r.ETag ?? ''),
      ...(r.LastModified ? { lastModified: r.LastModified } : {}),
    };
  }

  /** Explicit precondition check for servers that ignore conditions on multipart completion and DELETE. */
  async function checkCondition(key: string, opts: { ifNoneMatch?: '*'; ifMatch?: string }, op: string): Promise<void> {
    const cur = await head(key).catch((err: unknown) => {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    });
    if (opts.ifNoneMatch === '*' && cur !== undefined) {
      throw new PreconditionFailedError(`${op} ${key} in ${url}: already exists`, { url, key, op });
    }
    if (opts.ifMatch !== undefined && cur?.etag !== normaliseEtag(opts.ifMatch)) {
      throw new PreconditionFailedError(`${op} ${key} in ${url}: etag changed or object missing`, { url, key, op });
    }
  }

  async function get(key: string, opts: GetOptions = {}): Promise<Readable> {
    // The total deadline runs up to the response headers; the body then has the stall deadline only. The
    // caller's and the store's signals stay linked to the request, so a SIGTERM still ends the body.
    const r = await call('get', key, deadline('get', key, opts.signal), (abortSignal) =>
      client.send(new GetObjectCommand({ Bucket, Key: full(key) }), { abortSignal }),
    );
    const body = r.Body as Readable;
    if (opts.maxBytes !== undefined && (r.ContentLength ?? 0) > opts.maxBytes) {
      body.destroy();
      throw new SizeLimitError(`${key} in ${url} is ${r.ContentLength} bytes, over the limit of ${opts.maxBytes}`, {
        url,
        key,
        maxBytes: opts.maxBytes,
      });
    }
    const what = `${key} in ${url}`;
    const idle = idleGuard(d.idleTimeoutMs, what, () => body.destroy());
    body.on('error', (err) => idle.destroy(idle.destroyed ? undefined : fail(err, 'get', key)));
    idle.on('close', () => body.destroy());
    body.pipe(idle);
    return guardBody(idle, what, opts.maxBytes, (err) => fail(err, 'get', key));
  }

  async function getIfChanged(key: string, etag: string | undefined, opts: GetOptions & { maxBytes: number }): Promise<ConditionalGetResult> {
    let r;
    try {
      r = await call('get', key, deadline('get', key, opts.signal), (abortSignal) =>
        client.send(new GetObjectCommand({ Bucket, Key: full(key), ...(etag ? { IfNoneMatch: `"${normaliseEtag(etag)}"` } : {}) }), { abortSignal }),
      );
    } catch (err) {
      // The SDK reports 304 as an error without a body; mapS3Error would call it a TransportError.
      if (isNotModified(err)) return { notModified: true };
      throw err;
    }
    const body = r.Body as Readable;
    if ((r.ContentLength ?? 0) > opts.maxBytes) {
      body.destroy();
      throw new SizeLimitError(`${key} in ${url} is ${r.ContentLength} bytes, over the limit of ${opts.maxBytes}`, { url, key, maxBytes: opts.maxBytes });
    }
    const what = `${key} in ${url}`;
    const idle = idleGuard(d.idleTimeoutMs, what, () => body.destroy());
    body.on('error', (err) => idle.destroy(idle.destroyed ? undefined : fail(err, 'get', key)));
    idle.on('close', () => body.destroy());
    body.pipe(idle);
    const bytes = await readCapped(guardBody(idle, what, opts.maxBytes, (err) => fail(err, 'get', key)), opts.maxBytes, what);
    return { notModified: false, bytes, etag: normaliseEtag(r.ETag ?? '') };
  }

  async function putOnce(key: string, Body: Buffer | Readable, length: number, opts: PutOptions): Promise<string> {
    const dl = deadline('put', key, opts.signal, length <= SMALL_BODY_BYTES);
    const r = await call('put', key, dl, (abortSignal) => client.send(
      new PutObjectCommand({
        Bucket,
        Key: full(key),
        Body,
        ContentLength: length,
        ...(opts.contentType ? { ContentType: opts.contentType } : {}),
        ...(opts.ifNoneMatch ? { IfNoneMatch: '*' } : {}),
        ...(opts.ifMatch !== undefined ? { IfMatch: normaliseEtag(opts.ifMatch) } : {}),
      }),
      { abortSignal },
    ));
    return normaliseEtag(r.ETag ?? '');
  }

  async function putStream(key: string, body: Readable, opts: PutOptions): Promise<string> {
    const pool = new PartPool(partSize);
    const parts = readParts(body, partSize, pool)[Symbol.asyncIterator]();
    const first = await parts.next();
    const second = first.done ? first : await parts.next();
    if (second.done) return putOnce(key, first.done ? Buffer.alloc(0) : first.value, first.done ? 0 : first.value.length, opts);
    async function* all(): AsyncGenerator<Buffer> {
      yield first.value as Buffer;
      yield second.value as Buffer;
      for (let n = await parts.next(); !n.done; n = await parts.next()) yield n.value;
    }
    const conditional = opts.ifNoneMatch !== undefined || opts.ifMatch !== undefined;
    // A multipart body has no total deadline: each part has the socket idle deadline; signals still abort.
    const dl = deadline('put', key, opts.signal, false);
    const etag = await call('put', key, dl, (signal) => uploadMultipart(
      {
        client,
        Bucket,
        Key: full(key),
        concurrency: o.partConcurrency ?? 3,
        release: (part) => pool.give(part),
        ...(opts.contentType ? { ContentType: opts.contentType } : {}),
        ...(opts.ifNoneMatch ? { IfNoneMatch: '*' } : {}),
        ...(opts.ifMatch !== undefined ? { IfMatch: normaliseEtag(opts.ifMatch) } : {}),
        ...(conditional ? { beforeComplete: () => checkCondition(key, opts, 'put') } : {}),
        signal,
      },
      all(),
    ));
    return etag !== undefined ? normaliseEtag(etag) : (await head(key)).etag;
  }

  async function put(key: string, body: Buffer | Readable, opts: PutOptions = {}): Promise<{ etag: string }> {
    refuseReadOnly('put', key);
    if (opts.ifNoneMatch !== undefined && opts.ifMatch !== undefined) {
      throw new UnsupportedOperationError(`put ${key}: ifNoneMatch and ifMatch together`, { url, key });
    }
    try {
      const etag = Buffer.isBuffer(body) ? await putOnce(key, body, body.length, opts) : await putStream(key, body, opts);
      return { etag };
    } catch (err) {
      if (!Buffer.isBuffer(body)) body.destroy();
      throw fail(err, 'put', key);
    }
  }

  async function list(p: string, opts: ListOptions = {}): Promise<ListPage> {
    checkPrefix(p);
    const r = await call('list', p, deadline('list', p, undefined), (abortSignal) => client.send(
        new ListObjectsV2Command({
          Bucket,
          Prefix: prefix + p,
          MaxKeys: Math.max(1, Math.min(opts.limit ?? 1000, 1000)),
          ...(opts.cursor !== undefined ? { ContinuationToken: opts.cursor } : {}),
        }),
        { abortSignal },
    ));
    const items: ObjectInfo[] = (r.Contents ?? []).map((c) => ({
      key: (c.Key ?? '').slice(prefix.length),
      size: c.Size ?? 0,
      etag: normaliseEtag(c.ETag ?? ''),
      ...(c.LastModified ? { lastModified: c.LastModified } : {}),
    }));
    return r.IsTruncated && r.NextContinuationToken ? { items, cursor: r.NextContinuationToken } : { items };
  }

  async function del(key: string, opts: { ifMatch?: string } = {}): Promise<void> {
    refuseReadOnly('delete', key);
    try {
      if (opts.ifMatch !== undefined) await checkCondition(key, opts, 'delete');
      await call('delete', key, deadline('delete', key, undefined), (abortSignal) => client.send(
        new DeleteObjectCommand({
          Bucket,
          Key: full(key),
          ...(opts.ifMatch !== undefined ? { IfMatch: normaliseEtag(opts.ifMatch) } : {}),
        }),
        { abortSignal },
      ));
    } catch (err) {
      if (err instanceof NotFoundError && opts.ifMatch === undefined) return;
      throw fail(err, 'delete', key);
    }
  }

  return {
    url,
    capabilities: { write: writable, list: true, conditionalWrites: 'probe' },
    get,
    async getBytes(key, opts) {
      return readCapped(await get(key, opts), opts.maxBytes, `${key} in ${url}`);
    },
    getIfChanged,
    put,
    head,
    list,
    delete: del,
    isNotFound: (err) => err instanceof NotFoundError,
    close() {
      client.destroy();
      return Promise.resolve();
    },
  };
}
