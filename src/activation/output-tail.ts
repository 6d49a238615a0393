/**
 * Keeps only the last `maxBytes` bytes written to it, so a chatty or hostile command cannot grow the
 * agent's memory. `text()` decodes as UTF-8; a character cut at the front becomes U+FFFD.
 */
export class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = 0;

  constructor(private readonly maxBytes: number) {}

  /** Appends a chunk, discarding the oldest bytes beyond the bound. */
  push(chunk: Buffer): void {
    if (this.maxBytes <= 0) {
      this.dropped += chunk.length;
      return;
    }
    const piece = chunk.length > this.maxBytes ? chunk.subarray(chunk.length - this.maxBytes) : chunk;
    this.dropped += chunk.length - piece.length;
    this.chunks.push(piece);
    this.size += piece.length;
    while (this.size > this.maxBytes) {
      const first = this.chunks[0]!;
      const excess = this.size - this.maxBytes;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
        this.dropped += first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
        this.dropped += excess;
      }
    }
  }

  /** The kept bytes as text; prefixed with a marker when older output was dropped. */
  text(): string {
    const body = Buffer.concat(this.chunks).toString('utf8');
    return this.dropped > 0 ? `[… ${this.dropped} bytes dropped]\n${body}` : body;
  }

  /** Number of bytes currently kept (never more than the bound). */
  get keptBytes(): number {
    return this.size;
  }
}
