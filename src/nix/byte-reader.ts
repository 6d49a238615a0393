/**
 * Pulls exact byte counts out of an async stream of chunks, without copying file contents: `chunks(n)`
 * hands the stream's own buffers (sliced) to the caller. Ends early → `onShort` decides the error.
 */
export class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private readonly it: AsyncIterator<Buffer | string>;
  /** Bytes consumed so far (the NAR offset, for messages). */
  offset = 0;

  constructor(
    source: AsyncIterable<Buffer | string>,
    private readonly onShort: (wanted: number) => Error,
  ) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    const r = await this.it.next();
    if (r.done === true) return false;
    const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    return true;
  }

  /** Exactly `n` bytes (n small: headers, names, padding). */
  async read(n: number): Promise<Buffer> {
    while (this.buf.length < n) if (!(await this.fill())) throw this.onShort(n - this.buf.length);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    this.offset += n;
    return out;
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
