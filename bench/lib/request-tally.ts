// Counts of simulated requests by kind, with bytes, and a time line fine enough to find the busiest second.

/** Buckets of this many ms make up the time line; the peak is taken over any 10 consecutive buckets. */
const BUCKET_MS = 100;
const WINDOW_BUCKETS = 1000 / BUCKET_MS;

/** Requests of one kind so far. */
export interface KindCount {
  requests: number;
  bytesIn: number;
  bytesOut: number;
}

/** A tally of requests to one shared part (the git host or the store). */
export class RequestTally {
  readonly byKind = new Map<string, KindCount>();
  private line = new Float64Array(1024);

  /** `only`: count just the kinds it accepts (e.g. the writes); default every kind. */
  constructor(private readonly only?: (kind: string) => boolean) {}

  /** Counts one request of `kind` at monotonic `atMs`, `bytesOut` sent by the client, `bytesIn` received. */
  count(kind: string, atMs: number, bytesOut: number, bytesIn: number): void {
    if (this.only !== undefined && !this.only(kind)) return;
    const k = this.byKind.get(kind) ?? { requests: 0, bytesIn: 0, bytesOut: 0 };
    k.requests++;
    k.bytesIn += bytesIn;
    k.bytesOut += bytesOut;
    this.byKind.set(kind, k);
    const b = Math.floor(atMs / BUCKET_MS);
    if (b >= this.line.length) {
      const grown = new Float64Array(Math.max(b + 1, this.line.length * 2));
      grown.set(this.line);
      this.line = grown;
    }
    this.line[b] = (this.line[b] ?? 0) + 1;
  }

  /** Every request so far, all kinds. */
  total(): number {
    let n = 0;
    for (const k of this.byKind.values()) n += k.requests;
    return n;
  }

  /** Bytes received by clients, all kinds. */
  bytesIn(): number {
    let n = 0;
    for (const k of this.byKind.values()) n += k.bytesIn;
    return n;
  }

  /** A copy of the counts by kind, to subtract a later reading from. */
  snapshot(): Map<string, KindCount> {
    return new Map([...this.byKind].map(([k, v]) => [k, { ...v }]));
  }

  /** The most requests in any 1 s window (stepping by 100 ms) between monotonic `fromMs` and `toMs`. */
  peakPerSecond(fromMs: number, toMs: number): number {
    const first = Math.floor(fromMs / BUCKET_MS);
    const last = Math.min(Math.ceil(toMs / BUCKET_MS), this.line.length);
    let sum = 0;
    let peak = 0;
    for (let b = first; b < last; b++) {
      sum += this.line[b] ?? 0;
      if (b - first >= WINDOW_BUCKETS) sum -= this.line[b - WINDOW_BUCKETS] ?? 0;
      peak = Math.max(peak, sum);
    }
    return peak;
  }
}

/** `after − before`, per kind (kinds absent before count from zero). */
export function tallySince(after: Map<string, KindCount>, before: Map<string, KindCount>): Map<string, KindCount> {
  const out = new Map<string, KindCount>();
  for (const [k, v] of after) {
    const b = before.get(k) ?? { requests: 0, bytesIn: 0, bytesOut: 0 };
    const d = { requests: v.requests - b.requests, bytesIn: v.bytesIn - b.bytesIn, bytesOut: v.bytesOut - b.bytesOut };
    if (d.requests > 0) out.set(k, d);
  }
  return out;
}

/** Requests whose kind starts with one of `methods` ("GET" counts "GET status", "GET objects", …). */
export function requestsWith(m: Map<string, KindCount>, methods: readonly string[]): number {
  let n = 0;
  for (const [k, v] of m) if (methods.includes(k.split(' ')[0] ?? '')) n += v.requests;
  return n;
}

/** Sum of requests over kinds. */
export function requestsOf(m: Map<string, KindCount>): number {
  let n = 0;
  for (const v of m.values()) n += v.requests;
  return n;
}
