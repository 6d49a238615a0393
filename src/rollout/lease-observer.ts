import type { LeaseRecord } from './lease-record.js';

interface Seen {
  etag: string;
  firstSeenMs: number;
  record: LeaseRecord | null;
}

/**
 * What this process has seen of each lease key: the etag, when (on our monotonic clock) we first saw
 * that etag, and its parsed record. Expiry is judged only from this memory, never from timestamps in the
 * record. Keep one observer per agent process for its whole life; a new one must watch a full TTL again.
 */
export class LeaseObserver {
  private readonly seen = new Map<string, Seen>();

  /** Records that `key` currently has `etag`; the clock restarts only when the etag changed. */
  see(key: string, etag: string, record: LeaseRecord | null, nowMs: number): void {
    const cur = this.seen.get(key);
    if (cur?.etag === etag) return;
    this.seen.set(key, { etag, firstSeenMs: nowMs, record });
  }

  /** The parsed record we already read for this exact etag (undefined when unseen; null when unparseable). */
  recordFor(key: string, etag: string): LeaseRecord | null | undefined {
    const cur = this.seen.get(key);
    return cur?.etag === etag ? cur.record : undefined;
  }

  /** True when `key` has shown the same `etag` for at least `ttlMs` of our monotonic time. */
  expired(key: string, etag: string, ttlMs: number, nowMs: number): boolean {
    const cur = this.seen.get(key);
    return cur !== undefined && cur.etag === etag && nowMs - cur.firstSeenMs >= ttlMs;
  }

  /** Drops what we know of `key` (it vanished, or we just wrote it). */
  forget(key: string): void {
    this.seen.delete(key);
  }
}
