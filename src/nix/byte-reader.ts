const EMPTY = Buffer.alloc(0);

/**
 * Pulls exact byte counts out of an async stream of chunks, without copying file contents: `chunks(n)`
 * hands the stream's own buffers (sliced) to the caller, and `read(n)` copies at most its `n` bytes. Ends
 * early → `onShort` decides the error.
 */
export class ByteReader {
  private buf: Buffer = EMPTY;
  private readonly it: AsyncIterator<Buffer | string>;
  /** Bytes consumed so far (the NAR offset, for messages). */
  offset = 0;

  constructor(
    source: AsyncIterable<Buffer | string>,
    private readonly onShort: (wanted: number) => Error,
  ) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** The next chunk of the stream, or undefined at its end. */
  private async next(): Promise<Buffer | undefined> {
    const r = await this.it.next();
    if (r.done === true) return undefined;
    return typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
  }

  /** Refills an empty buffer with the next chunk, as is (no copy); false at the end of the stream. */
  private async fill(): Promise<boolean> {
    const chunk = await this.next();
    if (chunk === undefined) return false;
    this.buf = chunk;
    return true;
  }

  /**
   * Exactly `n` bytes (n small: headers, names, padding): a view of the current chunk when it holds them,
   * else a copy of just those `n` bytes gathered across chunks (never a copy of a whole chunk).
   */
  async read(n: number): Promise<Buffer> {
    let out: Buffer;
    if (this.buf.length >= n) {
      out = this.buf.subarray(0, n);
      this.buf = this.buf.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let got = this.buf.copy(out, 0);
      this.buf = EMPTY;
      while (got < n) {
        const chunk = await this.next();
        if (chunk === undefined) throw this.onShort(n - got);
        const take = Math.min(n - got, chunk.length);
        chunk.copy(out, got, 0, take);
        got += take;
        this.buf = chunk.subarray(take);
      }
    }
    this.offset += n;
    return out;
  }

  /** The bytes buffered now, unconsumed (a view: `skip` what is used). */
  buffered(): Buffer {
    return this.buf;
  }

  /** Consumes `n` bytes of what `buffered()` returned (n at most its length). */
  skip(n: number): void {
    this.buf = this.buf.subarray(n);
    this.offset += n;
  }

  /** Exactly `n` bytes, as the chunks they arrived in. */
  async *chunks(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0 && !(await this.fill())) throw this.onShort(left);
      const take = Math.min(left, this.buf.length);
      const out = this.buf.subarray(0, take);
      this.buf = this.buf.subarray(take);
      this.offset += take;
      left -= take;
      yield out;
    }
  }

  /** True when the stream has no byte left. */
  async atEnd(): Promise<boolean> {
    while (this.buf.length === 0) if (!(await this.fill())) return true;
    return false;
  }
}
