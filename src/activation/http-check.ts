import type { HttpCheckSpec } from './spec.js';

/** Bytes of a response body read for `bodyMatch`; the rest is not downloaded. */
export const MAX_HEALTH_BODY_BYTES = 1024 * 1024;

/**
 * One HTTP(S) GET against a health endpoint. Resolves to null when the status (default 200) and the
 * optional body pattern match, else to a one-line reason. Never rejects: a refused connection, a DNS
 * failure, a timeout (headers or a trickling body, both bounded by `timeoutMs`) are reasons too.
 */
export async function checkHttp(
  spec: HttpCheckSpec,
  bodyPattern: RegExp | undefined,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<string | null> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal === undefined ? timeout : AbortSignal.any([timeout, signal]);
  const expected = spec.expectStatus ?? 200;
  try {
    const response = await fetch(spec.url, { signal: combined, headers: { 'user-agent': 'flotilla-health' } });
    if (response.status !== expected) {
      await response.body?.cancel().catch(() => undefined);
      return `GET ${spec.url}: status ${response.status}, expected ${expected}`;
    }
    if (bodyPattern === undefined) {
      await response.body?.cancel().catch(() => undefined);
      return null;
    }
    const body = await readCapped(response, MAX_HEALTH_BODY_BYTES);
    return bodyPattern.test(body) ? null : `GET ${spec.url}: body does not match /${bodyPattern.source}/`;
  } catch (err) {
    if (timeout.aborted) return `GET ${spec.url}: no complete answer within ${timeoutMs} ms`;
    if (signal?.aborted === true) return `GET ${spec.url}: aborted`;
    return `GET ${spec.url}: ${describeFetchError(err)}`;
  }
}

/** Reads at most `maxBytes` of the body as UTF-8 and cancels the rest. */
async function readCapped(response: Response, maxBytes: number): Promise<string> {
  if (response.body === null) return '';
  const reader: ReadableStreamDefaultReader<Uint8Array> = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < maxBytes) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8');
}

/** fetch wraps the interesting error (ECONNREFUSED, ENOTFOUND, certificate) in `cause`. */
function describeFetchError(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause;
    if (cause instanceof Error) {
      const code = (cause as NodeJS.ErrnoException).code;
      return code === undefined ? cause.message : `${code} ${cause.message}`;
    }
    return err.message;
  }
  return String(err);
}
