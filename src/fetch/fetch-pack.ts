import { FlotillaError, TransportError } from '../errors/index.js';
import { packSize, type PackEntry } from '../packages/pack-format.js';
import type { Digest } from '../store/digest.js';
import { objectKey } from '../store/keys.js';
import type { Store } from '../store/store.js';
import { deadlineFor, objectDeadline } from './fetch-object.js';
import type { ObjectCache } from './object-cache.js';
import type { NewFiles } from './new-files.js';
import { createPackSplitter } from './pack-splitter.js';
import { createInlinePackSplitter } from './pack-splitter-inline.js';

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
  /** Receives each verified temp file (flush and rename are its business); `direct`: written with O_DIRECT. */
  commit: (tmp: string, digest: Digest, size: number, direct: boolean) => Promise<void> | undefined;
  /**
   * Called once per object committed, with its size and whether its bytes came through the store's own
   * reused read buffer (`readInto`) rather than `get`'s per-read buffers, which garbage collection frees.
   */
  onObject: (digest: Digest, size: number, ownBuffer: boolean) => void;
  /** How the objects' files are created (new-files.ts). */
  files: NewFiles;
  /** Written inline (NewFiles.inline): settles once the objects' directories exist, before the first write. */
  ready?: Promise<void>;
}

/**
 * Streams one pack from `store` and splits it while hashing (pack-splitter.ts): through the store's own
 * reused read buffer when it has one (`readInto`, plain HTTP), else through `get`. The body is capped at
 * the pack's size (its index plus the manifest's sizes); the store's idle timeout is the stall deadline;
 * one timer bounds the whole pack. On any failure the current entry's file is removed and the error
 * thrown: what committed before it stays (it verified), the caller fetches the rest another way.
 */
export async function fetchPack(store: Store, cache: ObjectCache, job: PackJob, o: PackFetchOptions): Promise<void> {
  const total = packSize(job.entries);
  const ms = deadlineFor(total, o);
  const deadline = objectDeadline(ms, job.digest, o.signal);
  const key = objectKey(job.digest);
  let reused = false;
  const sink = { commit: o.commit, onObject: (d: Digest, size: number) => o.onObject(d, size, reused), files: o.files };
  const split = o.files.inline ? createInlinePackSplitter(cache, job.digest, job.entries, job.wanted, sink, o.ready) : createPackSplitter(cache, job.digest, job.entries, job.wanted, sink);
  try {
    const how = store.readInto === undefined ? 'unsupported' : await store.readInto(key, total, (view) => {
      reused = true;
      return split.feed(view);
    }, { signal: deadline.signal });
    if (how === 'unsupported') {
      const body = await store.get(key, { maxBytes: total, signal: deadline.signal });
      for await (const chunk of body as AsyncIterable<Buffer>) await split.feed(chunk);
    }
    await split.end();
    deadline.clear();
  } catch (err) {
    deadline.clear();
    await split.abort();
    if (deadline.timedOut() && !(err instanceof FlotillaError) && o.signal?.aborted !== true) {
      throw new TransportError(`pack ${job.digest}: deadline of ${ms} ms passed`, { pack: job.digest });
    }
    throw err;
  }
}
