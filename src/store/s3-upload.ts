import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';

/**
 * Splits a stream into buffers of exactly `partSize` bytes (the last may be shorter, never empty). Each
 * part is copied once; the bytes past a part boundary stay as views of their chunks (no second copy), so
 * memory is about one part plus one chunk.
 */
export async function* readParts(body: Readable, partSize: number): AsyncGenerator<Buffer> {
  let chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    chunks.push(buf);
    total += buf.length;
    while (total >= partSize) {
      const part = Buffer.concat(chunks, partSize); // truncates to partSize
      let excess = total - partSize;
      const rest: Buffer[] = [];
      for (let i = chunks.length - 1; excess > 0 && i >= 0; i--) {
        const c = chunks[i] as Buffer;
        rest.unshift(c.length <= excess ? c : c.subarray(c.length - excess));
        excess -= Math.min(c.length, excess);
      }
      chunks = rest;
      total -= partSize;
      yield part;
    }
  }
  if (total > 0) yield Buffer.concat(chunks, total);
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
    { abortSignal: signal },
  );
  const UploadId = created.UploadId;
  const done: Array<{ PartNumber: number; ETag: string }> = [];
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  try {
    let n = 0;
    for await (const Body of parts) {
      if (failure !== undefined) break;
      const PartNumber = ++n;
      const p: Promise<void> = client
        .send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body, ContentLength: Body.length }), {
          abortSignal: signal,
        })
        .then((r) => void done.push({ PartNumber, ETag: r.ETag ?? '' }))
        .catch((err: unknown) => void (failure ??= err))
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= t.concurrency) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
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
      { abortSignal: signal },
    );
    return r.ETag === undefined || r.ETag === '' ? undefined : r.ETag;
  } catch (err) {
    await Promise.allSettled(inFlight);
    await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })).catch(() => undefined);
    throw err;
  }
}
