import { createHash, type Hash } from 'node:crypto';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { FlotillaError, IntegrityError, TransportError } from '../errors/index.js';
import { packHeaderBytes, packHeaderMatches, packSize, type PackEntry } from '../packages/pack-format.js';
import { digestFromHex, type Digest } from '../store/digest.js';
import { objectKey } from '../store/keys.js';
import type { Store } from '../store/store.js';
import { deadlineFor, objectDeadline } from './fetch-object.js';
import type { ObjectCache } from './object-cache.js';
import { TEMP_MODE, writeTemps } from './write-temps.js';

/** A pack to fetch: its digest, the index it must carry (from the signed manifest), the entries to keep. */
export interface PackJob {
  digest: Digest;
  entries: PackEntry[];
  wanted: ReadonlySet<Digest>;
}

export interface PackFetchOptions {
  signal?: AbortSignal;
  /** Deadline of the whole pack; default 60 s plus 1 s per 256 KiB of it. */
  timeoutMs?: number;
  /** Receives each verified temp file (flush and rename are its business). */
  commit: (tmp: string, digest: Digest, size: number) => Promise<void>;
  /** Called once per object committed, with its size. */
  onObject: (digest: Digest, size: number) => void;
}

// Objects up to this size are held whole and written in batches once verified; larger ones stream to their
// temp file in writes of this size. At most ~1 MiB per pack in flight is held (a batch written, one gathered).
const WRITE_CHUNK = 256 * 1024;
const SMALL_BATCH_BYTES = 256 * 1024;
const SMALL_BATCH_OBJECTS = 32;

interface Small {
  tmp: string;
  digest: Digest;
  size: number;
  data: Buffer;
}

/**
 * Streams one pack from `store` and splits it while hashing: the index must equal `job.entries` exactly
 * (else IntegrityError before anything is written); each wanted entry is hashed as it passes and handed to
 * `o.commit` only when its hash and size match the manifest; entries not wanted are skipped unhashed. The
 * body is capped at the pack's size (its index plus the manifest's sizes); the store's idle timeout is the
 * stall deadline; one timer bounds the whole pack. On any failure the current entry's temp is removed and
 * the error thrown: what committed before it stays (it verified), the caller fetches the rest another way.
 */
export async function fetchPack(store: Store, cache: ObjectCache, job: PackJob, o: PackFetchOptions): Promise<void> {
  const total = packSize(job.entries);
  const ms = deadlineFor(total, o);
  const deadline = objectDeadline(ms, job.digest, o.signal);
  const headerLeft = packHeaderBytes(job.entries.length);
  const header: Buffer[] = [];
  let headerGot = 0;
  let i = -1; // entry being read; -1 while in the index
  let left = 0;
  let hash: Hash | undefined;
  let parts: Buffer[] = [];
  let partBytes = 0;
  let fh: FileHandle | undefined;
  let tmp: string | undefined;
  let small: Small[] = [];
  let smallBytes = 0;

  // Small objects are written through libuv's pool (write-temps.ts), one batch in flight per pack while the
  // next is gathered.
  let writing: Promise<void> = Promise.resolve();
  const writeSmall = async (batch: Small[]): Promise<void> => {
    await writeTemps(batch);
    for (const s of batch) {
      await o.commit(s.tmp, s.digest, s.size);
      o.onObject(s.digest, s.size);
    }
  };
  const flushSmall = async (): Promise<void> => {
    const batch = small;
    small = [];
    smallBytes = 0;
    await writing;
    if (batch.length === 0) return;
    writing = writeSmall(batch);
    // Awaited at the next flush or at the end; until then a failure must not count as unhandled.
    writing.catch(() => undefined);
  };
  const writeParts = async (): Promise<void> => {
    if (partBytes === 0) return;
    tmp ??= cache.tempPath((job.entries[i] as PackEntry).digest);
    fh ??= await open(tmp, 'wx', TEMP_MODE);
    const out = parts;
    parts = [];
    partBytes = 0;
    await fh.writev(out);
  };
  const startEntry = (): void => {
    const e = job.entries[i];
    if (e === undefined) return;
    left = e.size;
    hash = job.wanted.has(e.digest) ? createHash('sha256') : undefined;
  };
  const finishEntry = async (): Promise<void> => {
    const e = job.entries[i] as PackEntry;
    const h = hash;
    hash = undefined;
    if (h === undefined) return;
    const actual = digestFromHex(h.digest('hex'));
    if (actual !== e.digest) {
      throw new IntegrityError(`pack ${job.digest}: its bytes for object ${e.digest} hash to ${actual}`, { object: e.digest, pack: job.digest, actual });
    }
    if (fh === undefined) {
      small.push({ tmp: cache.tempPath(e.digest), digest: e.digest, size: e.size, data: parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts) });
      smallBytes += e.size;
      parts = [];
      partBytes = 0;
      if (small.length >= SMALL_BATCH_OBJECTS || smallBytes >= SMALL_BATCH_BYTES) await flushSmall();
      return;
    }
    await writeParts();
    await fh.close();
    fh = undefined;
    const done = tmp as string;
    tmp = undefined;
    await o.commit(done, e.digest, e.size);
    o.onObject(e.digest, e.size);
  };
  // Moves past the index or a finished entry, and past any empty entries after it.
  const advance = async (): Promise<void> => {
    for (;;) {
      i++;
      startEntry();
      if (i >= job.entries.length || left > 0) return;
      await finishEntry();
    }
  };

  try {
    const body = await store.get(objectKey(job.digest), { maxBytes: total, signal: deadline.signal });
    for await (const chunk of body as AsyncIterable<Buffer>) {
      let off = 0;
      while (off < chunk.length) {
        if (i < 0) {
          const take = Math.min(headerLeft - headerGot, chunk.length - off);
          header.push(chunk.subarray(off, off + take));
          headerGot += take;
          off += take;
          if (headerGot < headerLeft) continue;
          if (!packHeaderMatches(Buffer.concat(header), job.entries)) {
            throw new IntegrityError(`pack ${job.digest}: its index does not list the objects the manifest names for it`, { pack: job.digest });
          }
          await advance();
          continue;
        }
        if (i >= job.entries.length) {
          throw new IntegrityError(`pack ${job.digest}: bytes past its last object`, { pack: job.digest });
        }
        const take = Math.min(left, chunk.length - off);
        if (hash !== undefined) {
          const piece = chunk.subarray(off, off + take);
          hash.update(piece);
          parts.push(piece);
          partBytes += take;
          if (partBytes >= WRITE_CHUNK) await writeParts();
        }
        left -= take;
        off += take;
        if (left === 0) {
          await finishEntry();
          await advance();
        }
      }
    }
    if (i < job.entries.length) throw new TransportError(`pack ${job.digest}: the body ended early`, { pack: job.digest });
    await flushSmall();
    await writing;
    deadline.clear();
  } catch (err) {
    deadline.clear();
    // A batch still being written either commits (it verified) or removes its temps; wait for it.
    await writing.catch(() => undefined);
    await fh?.close().catch(() => undefined);
    if (tmp !== undefined) await rm(tmp, { force: true });
    if (deadline.timedOut() && !(err instanceof FlotillaError) && o.signal?.aborted !== true) {
      throw new TransportError(`pack ${job.digest}: deadline of ${ms} ms passed`, { pack: job.digest });
    }
    throw err;
  }
}
