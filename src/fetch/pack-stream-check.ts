import { createHash, hash as hashOnce, type Hash } from 'node:crypto';
import { IntegrityError } from '../errors/index.js';
import { packHeaderBytes, packHeaderMatches, type PackEntry } from '../packages/pack-format.js';
import { digestFromHex, type Digest } from '../store/digest.js';

// The checks every pack splitter makes on the bytes it is fed (pack-splitter.ts, pack-splitter-inline.ts):
// the index must be the one the signed manifest names, each wanted entry must hash to its digest.

/** Reads a pack's index from the front of its bytes and checks it against `entries`. */
export class PackIndexReader {
  private readonly size: number;
  private readonly parts: Buffer[] = [];
  private got = 0;

  constructor(
    private readonly pack: Digest,
    private readonly entries: readonly PackEntry[],
  ) {
    this.size = packHeaderBytes(entries.length);
  }

  /** True once the whole index is in (and matched). */
  get done(): boolean {
    return this.got === this.size;
  }

  /** Takes the index's bytes from the front of `view` (copied: it may be a reused buffer); returns how many. */
  take(view: Buffer): number {
    const n = Math.min(this.size - this.got, view.length);
    this.parts.push(Buffer.from(view.subarray(0, n)));
    this.got += n;
    if (this.done && !packHeaderMatches(Buffer.concat(this.parts), this.entries)) {
      throw new IntegrityError(`pack ${this.pack}: its index does not list the objects the manifest names for it`, { pack: this.pack });
    }
    return n;
  }
}

/**
 * The hash of one entry at a time: an entry whole in one piece is hashed in one call, others through a
 * running hash, so no Hash object is made per small object.
 */
export class EntryHasher {
  private fresh = false;
  private whole: string | undefined;
  private hash: Hash | undefined;

  /** A new entry begins. */
  begin(): void {
    this.fresh = true;
    this.whole = undefined;
    this.hash = undefined;
  }

  /** The entry's next bytes; `rest` when they are all of what is left of it. */
  update(piece: Buffer, rest: boolean): void {
    if (this.fresh && rest) this.whole = hashOnce('sha256', piece, 'hex');
    else (this.hash ??= createHash('sha256')).update(piece);
    this.fresh = false;
  }

  /** After the entry's last bytes: throws IntegrityError, naming it and `pack`, unless it hashed to its digest. */
  check(pack: Digest, e: PackEntry): void {
    const hex = this.whole ?? (this.hash ?? createHash('sha256')).digest('hex');
    this.whole = undefined;
    this.hash = undefined;
    const actual = digestFromHex(hex);
    if (actual !== e.digest) {
      throw new IntegrityError(`pack ${pack}: its bytes for object ${e.digest} hash to ${actual}`, { object: e.digest, pack, actual });
    }
  }
}
