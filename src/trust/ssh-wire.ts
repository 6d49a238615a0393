/**
 * A reader for the SSH wire format (RFC 4251 §5): uint32 and length-prefixed strings. Every read is
 * bounds-checked; running past the end throws `SshWireError`, which callers turn into their own error.
 */
export class SshWireError extends Error {}

/** Sequential reader over SSH wire bytes. */
export class SshReader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  /** Reads a big-endian uint32. */
  uint32(): number {
    if (this.pos + 4 > this.buf.length) throw new SshWireError('truncated uint32');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Reads `n` raw bytes. */
  raw(n: number): Buffer {
    if (n < 0 || this.pos + n > this.buf.length) throw new SshWireError('truncated field');
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** Reads a length-prefixed byte string. */
  string(): Buffer {
    return this.raw(this.uint32());
  }

  /** Reads a length-prefixed string as UTF-8 text. */
  text(): string {
    return this.string().toString('utf8');
  }

  /** True when every byte was consumed. */
  done(): boolean {
    return this.pos === this.buf.length;
  }

  /** Throws unless every byte was consumed (trailing garbage is refused). */
  end(): void {
    if (!this.done()) throw new SshWireError('trailing bytes');
  }
}

/** Encodes a length-prefixed SSH string. */
export function sshString(data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data) : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/** Strips the sign byte of a positive mpint and left-pads to `size` bytes (0 = no padding). */
export function mpintToUnsigned(mpint: Buffer, size = 0): Buffer {
  let v = mpint;
  while (v.length > 1 && v[0] === 0) v = v.subarray(1);
  if (size === 0 || v.length === size) return v;
  if (v.length > size) throw new SshWireError('integer too large');
  return Buffer.concat([Buffer.alloc(size - v.length), v]);
}
