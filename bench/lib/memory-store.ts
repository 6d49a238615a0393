// An in-memory Store (the port src/store/store.ts defines) for the scale simulation: S3's semantics where the
// decision code relies on them (create-if-absent, compare-and-swap on etags, sorted listing, read-after-write),
// every request counted by kind and bytes, each answered after a simulated round trip. Its figures are checked
// against real agents on Ceph RGW by `npm run bench -- scale-real`.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { NotFoundError, PreconditionFailedError, SizeLimitError } from '../../src/errors/index.js';
import type { ConditionalGetResult, GetOptions, ListOptions, ListPage, ObjectInfo, PutOptions, Store } from '../../src/store/store.js';
import type { RequestTally } from './request-tally.js';
import type { SimClock } from './sim-clock.js';

interface Entry {
  bytes: Buffer;
  etag: string;
  lastModified: Date;
}

/** The kinds requests are counted under (S3 bills GET and HEAD at one price, PUT, LIST and POST at another). */
export type StoreKind = 'GET' | 'HEAD' | 'PUT' | 'LIST' | 'DELETE';

/** The objects of one simulated bucket, shared by every machine's view of it. */
export class MemoryBucket {
  readonly objects = new Map<string, Entry>();
  /** Every key, sorted: a listing is a binary search, not a scan of the bucket. */
  private readonly sorted: string[] = [];

  constructor(
    readonly clock: SimClock,
    /** Simulated round trip of one request, ms. */
    readonly latencyMs: number,
  ) {}

  set(key: string, entry: Entry): void {
    if (!this.objects.has(key)) this.sorted.splice(this.firstAtOrAfter(key), 0, key);
    this.objects.set(key, entry);
  }

  remove(key: string): void {
    if (!this.objects.delete(key)) return;
    this.sorted.splice(this.firstAtOrAfter(key), 1);
  }

  /** Up to `limit` + 1 keys under `prefix` strictly after `cursor`, in order. */
  keysUnder(prefix: string, cursor: string | undefined, limit: number): string[] {
    const from = cursor !== undefined && cursor >= prefix ? cursor : prefix;
    let i = this.firstAtOrAfter(from);
    if (this.sorted[i] === cursor) i++;
    const out: string[] = [];
    for (; i < this.sorted.length && out.length <= limit; i++) {
      const k = this.sorted[i] as string;
      if (!k.startsWith(prefix)) break;
      out.push(k);
    }
    return out;
  }

  private firstAtOrAfter(key: string): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.sorted[mid] as string) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** A Store on this bucket whose requests are counted in every one of `tallies`. */
  view(tallies: readonly RequestTally[]): SimStore {
    return new MemoryStoreView(this, tallies);
  }
}

function etagOf(bytes: Buffer): string {
  return createHash('md5').update(bytes).digest('hex');
}

async function bodyBytes(body: Buffer | Readable): Promise<Buffer> {
  if (Buffer.isBuffer(body)) return body;
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(parts);
}

/** One machine's view of the simulated bucket. */
export interface SimStore extends Store {
  /** While set, this view's requests take this round trip (ms) instead of the bucket's latencyMs. */
  roundTripMs: number | undefined;
}

class MemoryStoreView implements SimStore {
  readonly url = 's3://simulated-bucket/';
  roundTripMs: number | undefined = undefined;
  readonly capabilities = { write: true, list: true, conditionalWrites: 'probe' as const };

  constructor(
    private readonly bucket: MemoryBucket,
    private readonly tallies: readonly RequestTally[],
  ) {}

  /** Counts the request ("GET status": the kind, then the key's first segment) and answers after the round trip. */
  private async send(kind: StoreKind, key: string, bytesOut: number, bytesIn: () => number): Promise<void> {
    const at = this.bucket.clock.monotonicMs();
    await this.bucket.clock.sleep(this.roundTripMs ?? this.bucket.latencyMs);
    const got = bytesIn();
    const name = `${kind} ${key.split('/')[0] ?? ''}`;
    for (const t of this.tallies) t.count(name, at, bytesOut, got);
  }

  private entry(key: string): Entry {
    const e = this.bucket.objects.get(key);
    if (e === undefined) throw new NotFoundError(`no such key ${key}`, { key });
    return e;
  }

  async get(key: string, options?: GetOptions): Promise<Readable> {
    return Readable.from([await this.getBytes(key, { maxBytes: options?.maxBytes ?? Number.MAX_SAFE_INTEGER })]);
  }

  async getBytes(key: string, options: GetOptions & { maxBytes: number }): Promise<Buffer> {
    await this.send('GET', key, 0, () => this.bucket.objects.get(key)?.bytes.length ?? 0);
    const e = this.entry(key);
    if (e.bytes.length > options.maxBytes) throw new SizeLimitError(`${key} is larger than ${options.maxBytes} bytes`, { key });
    return e.bytes;
  }

  async getIfChanged(key: string, etag: string | undefined, options: GetOptions & { maxBytes: number }): Promise<ConditionalGetResult> {
    // A conditional GET is billed as a GET; a 304 carries no body.
    await this.send('GET', key, 0, () => {
      const e = this.bucket.objects.get(key);
      return e === undefined || e.etag === etag ? 0 : e.bytes.length;
    });
    const e = this.entry(key);
    if (etag !== undefined && e.etag === etag) return { notModified: true };
    if (e.bytes.length > options.maxBytes) throw new SizeLimitError(`${key} is larger than ${options.maxBytes} bytes`, { key });
    return { notModified: false, bytes: e.bytes, etag: e.etag };
  }

  async put(key: string, body: Buffer | Readable, options: PutOptions = {}): Promise<{ etag: string }> {
    const bytes = await bodyBytes(body);
    await this.send('PUT', key, bytes.length, () => 0);
    const cur = this.bucket.objects.get(key);
    if (options.ifNoneMatch === '*' && cur !== undefined) throw new PreconditionFailedError(`${key} exists`, { key });
    if (options.ifMatch !== undefined && cur?.etag !== options.ifMatch) throw new PreconditionFailedError(`${key} changed`, { key });
    const etag = etagOf(bytes);
    this.bucket.set(key, { bytes, etag, lastModified: this.bucket.clock.now() });
    return { etag };
  }

  async head(key: string): Promise<ObjectInfo> {
    await this.send('HEAD', key, 0, () => 0);
    const e = this.entry(key);
    return { key, size: e.bytes.length, etag: e.etag, lastModified: e.lastModified };
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    const limit = options.limit ?? 1000;
    const keys = this.bucket.keysUnder(prefix, options.cursor, limit);
    const page = keys.slice(0, limit);
    // About what an S3 ListObjectsV2 answer carries per key (key, etag, size, date, storage class).
    await this.send('LIST', prefix, 0, () => 300 + page.reduce((n, k) => n + k.length + 180, 0));
    const items = page.map((k) => {
      const e = this.entry(k);
      return { key: k, size: e.bytes.length, etag: e.etag, lastModified: e.lastModified };
    });
    const last = page[page.length - 1];
    return keys.length > limit && last !== undefined ? { items, cursor: last } : { items };
  }

  async delete(key: string, options: { ifMatch?: string } = {}): Promise<void> {
    await this.send('DELETE', key, 0, () => 0);
    const cur = this.bucket.objects.get(key);
    if (options.ifMatch !== undefined && cur !== undefined && cur.etag !== options.ifMatch) throw new PreconditionFailedError(`${key} changed`, { key });
    this.bucket.remove(key);
  }

  isNotFound(err: unknown): boolean {
    return err instanceof NotFoundError;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
