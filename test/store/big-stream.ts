import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

/**
 * A `size`-byte stream of fresh 1 MiB chunks (random template, each stamped with its index so no two chunks
 * are equal) and a promise of its sha256 hex, known once the stream has been read to the end.
 */
export function generateStream(size: number): { stream: Readable; sha256: Promise<string> } {
  const template = randomBytes(1 << 20);
  const hash = createHash('sha256');
  let sent = 0;
  let index = 0;
  let resolve!: (hex: string) => void;
  const sha256 = new Promise<string>((r) => (resolve = r));
  const stream = new Readable({
    read() {
      if (sent >= size) {
        resolve(hash.digest('hex'));
        this.push(null);
        return;
      }
      const n = Math.min(template.length, size - sent);
      const chunk = Buffer.from(template.subarray(0, n));
      chunk.writeUInt32BE(index++ >>> 0, 0);
      hash.update(chunk);
      sent += n;
      this.push(chunk);
    },
  });
  return { stream, sha256 };
}

/** Reads a stream to the end, returning its length and sha256 hex without keeping the bytes. */
export async function hashStream(stream: Readable): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest('hex') };
}

/** Samples process RSS every 20 ms while `fn` runs; returns the peak growth over the RSS at the start. */
export async function peakRssGrowth(fn: () => Promise<void>): Promise<number> {
  if (typeof globalThis.gc === 'function') globalThis.gc();
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, process.memoryUsage().rss) - base;
}
