import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';

/**
 * Reusable part buffers. A multipart upload holds at most `concurrency` parts in flight plus the one being
 * filled (and two peeked by the caller), so recycling them keeps memory flat: allocating a fresh 8 MiB
 * buffer per part leaves the dead ones to the garbage collector, and peak RSS then grows with its lag.
 */
export class PartPool {
  private readonly free: Buffer[] = [];

  constructor(readonly partSize: number) {}

  /** A buffer of exactly `partSize` bytes (contents undefined). */
  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafe(this.partSize);
  }

  /** Returns a full part buffer whose upload finished; a short last part is simply dropped. */
  give(part: Buffer): void {
    if (part.length === this.partSize) this.free.push(part);
  }
}

/**
 * Splits a stream into buffers of exactly `partSize` bytes (the last may be shorter, never empty), copying
 * each chunk once into buffers from `pool`. A yielded full part belongs to the caller until it gives it back.
 */
export async function* readParts(body: Readable, partSize: number, pool: PartPool = new PartPool(partSize)): AsyncGenerator<Buffer> {
  let part = pool.take();
  let filled = 0;
  for await (const chunk of body) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    for (let off = 0; off < buf.length; ) {
      const n = buf.copy(part, filled, off, Math.min(buf.length, off + partSize - filled));
      filled += n;
      off += n;
      if (filled === partSize) {
        yield part;
        part = pool.take();
        filled = 0;
      }
    }
  }
  if (filled > 0) yield part.subarray(0, filled);
}

/** Where and how one multipart upload goes. `Key` is the full key inside the bucket. */
export interface MultipartTarget {
  client: S3Client;
  Bucket: string;
  Key: string;
  ContentType?: string;
  /** Parts uploaded at once; memory use is about (concurrency + 1) × part size. */
  concurrency: number;
  /** Conditions sent with CompleteMultipartUpload (honoured by AWS; ignored by Ceph RGW 16). */
  IfNoneMatch?: string;
  IfMatch?: string;
  /** Runs just before completion; throwing aborts the upload (used for an explicit precondition check). */
  beforeComplete?: () => Promise<void>;
  /** Called with each part once the server has it, so its buffer can be reused. */
  release?: (part: Buffer) => void;
  signal?: AbortSignal;
}

/**
 * Uploads `parts` (the first already read) as one multipart object with bounded concurrency. On any failure
 * the upload is aborted (after in-flight parts settle, so no part is left behind) and the error rethrown
 * as the SDK raised it. Returns the ETag of the completed object, when the server sends one.
 */
export async function uploadMultipart(t: MultipartTarget, parts: AsyncIterable<Buffer>): Promise<string | undefined> {
  const { client, Bucket, Key, signal } = t;
  const created = await client.send(
    new CreateMultipartUploadCommand({ Bucket, Key, ...(t.ContentType ? { ContentType: t.ContentType } : {}) }),
    signal !== undefined ? { abortSignal: signal } : {},
  );
  const UploadId = created.UploadId;
  const done: Array<{ PartNumber: number; ETag: string }> = [];
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  try {
    let n = 0;
    for await (const Body of parts) {
      if (failure !== undefined) break;
      const PartNumber = ++n;
      const p: Promise<void> = client
        .send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body, ContentLength: Body.length }), signal !== undefined ? { abortSignal: signal } : {})
        .then((r) => {
          done.push({ PartNumber, ETag: r.ETag ?? '' });
          t.release?.(Body);
        })
        .catch((err: unknown) => void (failure ??= { error: err }))
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= t.concurrency) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure.error;
    await t.beforeComplete?.();
    done.sort((a, b) => a.PartNumber - b.PartNumber);
    const r = await client.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key,
        UploadId,
        MultipartUpload: { Parts: done },
        ...(t.IfNoneMatch !== undefined ? { IfNoneMatch: t.IfNoneMatch } : {}),
        ...(t.IfMatch !== undefined ? { IfMatch: t.IfMatch } : {}),
      }),
      signal !== undefined ? { abortSignal: signal } : {},
    );
    return r.ETag === undefined || r.ETag === '' ? undefined : r.ETag;
  } catch (err) {
    await Promise.allSettled(inFlight);
    await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })).catch(() => undefined);
    throw err;
  }
}
