import { canonicalJson } from './canonical-json.js';
import type { Manifest } from './manifest-types.js';
import { digestHex, isDigest, type Digest } from '../store/digest.js';

/**
 * Packs: a transport for cold fetches, never a source of trust. A pack holds a run of a package's objects
 * back to back behind a small index, so a fetch that lacks them makes one request instead of one per object:
 *
 *   "FLOTPACK" | u32 BE version (1) | u32 BE count | count × (32-byte sha256, u64 BE size) | the bytes, in order
 *
 * The objects of a package are its distinct non-inline file objects in manifest order (`packableObjects`);
 * a pack holds a consecutive run of them, named in the package's unsigned hint by `first` and `count`.
 * A reader derives the index a pack must carry from the signed manifest and refuses any other, and hashes
 * every object split out of it against the manifest before the object is used.
 */

export const PACK_MAGIC = Buffer.from('FLOTPACK', 'ascii');
export const PACK_VERSION = 1;
const FIXED_HEADER = 16;
const ENTRY_BYTES = 40;

/** One object in a pack's index. */
export interface PackEntry {
  digest: Digest;
  size: number;
}

/** A pack as the hint names it: the pack object's digest and the run of the package's objects it holds. */
export interface PackRef {
  digest: Digest;
  first: number;
  count: number;
}

/** `packs/sha256/<manifest hex>`: where a package's packs are, unsigned (a lie costs a fallback, nothing more). */
export interface PackHint {
  manifest: Digest;
  packs: PackRef[];
}

export const PACK_HINT_SCHEMA = 'flotilla.pack-hint/v1';
/** A hint is small (about 100 bytes per pack); anything bigger is not one of ours. */
export const MAX_PACK_HINT_BYTES = 1024 * 1024;
/** Objects of at most this size are packed; larger ones are one request each already worth its cost. */
export const PACK_MAX_OBJECT = 8 * 1024 * 1024;
/** A pack closes before it would pass this many bytes of objects: parallel requests, bounded push memory. */
export const PACK_TARGET_BYTES = 16 * 1024 * 1024;

export function packHeaderBytes(count: number): number {
  return FIXED_HEADER + ENTRY_BYTES * count;
}

/** The pack's full size: index plus objects. */
export function packSize(entries: readonly PackEntry[]): number {
  return packHeaderBytes(entries.length) + entries.reduce((a, e) => a + e.size, 0);
}

export function encodePackHeader(entries: readonly PackEntry[]): Buffer {
  const b = Buffer.alloc(packHeaderBytes(entries.length));
  PACK_MAGIC.copy(b, 0);
  b.writeUInt32BE(PACK_VERSION, 8);
  b.writeUInt32BE(entries.length, 12);
  entries.forEach((e, i) => {
    const at = FIXED_HEADER + ENTRY_BYTES * i;
    Buffer.from(digestHex(e.digest), 'hex').copy(b, at);
    b.writeBigUInt64BE(BigInt(e.size), at + 32);
  });
  return b;
}

/**
 * True when `header` (exactly packHeaderBytes(expected.length) bytes) is the index of `expected`: magic,
 * version, count, and every digest and size in order. A pack whose index differs lies about what it holds.
 */
export function packHeaderMatches(header: Buffer, expected: readonly PackEntry[]): boolean {
  if (header.length !== packHeaderBytes(expected.length)) return false;
  if (!header.subarray(0, 8).equals(PACK_MAGIC) || header.readUInt32BE(8) !== PACK_VERSION || header.readUInt32BE(12) !== expected.length) return false;
  return expected.every((e, i) => {
    const at = FIXED_HEADER + ENTRY_BYTES * i;
    return header.toString('hex', at, at + 32) === digestHex(e.digest) && header.readBigUInt64BE(at + 32) === BigInt(e.size);
  });
}

/** The objects a package's packs are cut from: distinct non-inline file objects, in manifest order. */
export function packableObjects(manifest: Manifest): PackEntry[] {
  const seen = new Set<Digest>();
  const out: PackEntry[] = [];
  for (const e of manifest.entries) {
    if (e.type !== 'file' || e.data !== undefined || seen.has(e.digest)) continue;
    seen.add(e.digest);
    out.push({ digest: e.digest, size: e.size });
  }
  return out;
}

/**
 * Cuts `objects` into runs for packs: consecutive objects of at most PACK_MAX_OBJECT bytes, a run closing
 * before it would pass PACK_TARGET_BYTES; a larger object ends the run and stays unpacked, and runs of one
 * object are not worth a pack. Returns each run's first index and count.
 */
export function planPackRuns(objects: readonly PackEntry[]): Array<{ first: number; count: number }> {
  const runs: Array<{ first: number; count: number }> = [];
  let first = 0;
  let count = 0;
  let bytes = 0;
  const close = (): void => {
    if (count >= 2) runs.push({ first, count });
    count = 0;
    bytes = 0;
  };
  objects.forEach((o, i) => {
    if (o.size > PACK_MAX_OBJECT) return close();
    if (count > 0 && bytes + o.size > PACK_TARGET_BYTES) close();
    if (count === 0) first = i;
    count++;
    bytes += o.size;
  });
  close();
  return runs;
}

export function encodePackHint(hint: PackHint): Buffer {
  return Buffer.from(
    canonicalJson({ manifest: hint.manifest, packs: hint.packs.map((p) => ({ count: p.count, digest: p.digest, first: p.first })), schema: PACK_HINT_SCHEMA }),
    'utf8',
  );
}

const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Parses a hint for the manifest `manifest` of `objectCount` packable objects. Returns undefined for
 * anything that is not a well-formed hint for exactly that manifest: runs of two or more objects, in
 * order, not overlapping, inside the object list. Never throws: a bad hint only means no packs.
 */
export function parsePackHint(bytes: Buffer, manifest: Digest, objectCount: number): PackHint | undefined {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (o['schema'] !== PACK_HINT_SCHEMA || o['manifest'] !== manifest || !Array.isArray(o['packs'])) return undefined;
  const packs: PackRef[] = [];
  let next = 0;
  for (const p of o['packs'] as unknown[]) {
    if (typeof p !== 'object' || p === null) return undefined;
    const r = p as Record<string, unknown>;
    const { digest, first, count } = r;
    if (!isDigest(digest) || !isIndex(first) || !isIndex(count) || count < 2 || first < next || first + count > objectCount) return undefined;
    packs.push({ digest, first, count });
    next = first + count;
  }
  return { manifest, packs };
}

/** The pack digests a hint names, for GC; undefined when the bytes are no hint at all. */
export function packDigestsOfHint(bytes: Buffer): Digest[] | undefined {
  try {
    const v = JSON.parse(bytes.toString('utf8')) as { schema?: unknown; packs?: unknown };
    if (v.schema !== PACK_HINT_SCHEMA || !Array.isArray(v.packs)) return undefined;
    return (v.packs as Array<{ digest?: unknown }>).map((p) => p.digest).filter(isDigest);
  } catch {
    return undefined;
  }
}
