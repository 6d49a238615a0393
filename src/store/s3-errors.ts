import {
  AccessDeniedError,
  ConfigError,
  FlotillaError,
  NotFoundError,
  PreconditionFailedError,
  TimeoutError,
  TransportError,
  UnsupportedOperationError,
} from '../errors/index.js';

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
}

/**
 * Turns an S3 SDK or network error into a FlotillaError naming the operation, key and (credential-free)
 * store URL: 412 and 409 ConditionalRequestConflict → PreconditionFailedError; 404 / NoSuchKey →
 * NotFoundError; NoSuchBucket → ConfigError (a human must fix the bucket); 401/403 (AccessDenied, InvalidAccessKeyId,
 * SignatureDoesNotMatch) → AccessDeniedError (a human must fix the credentials);
 * 501 → UnsupportedOperationError; timeouts → TimeoutError; everything else (5xx, resets) → TransportError.
 * FlotillaErrors and aborts pass through unchanged. HEAD responses have no body, so a HEAD on a missing
 * bucket is indistinguishable from a missing key and maps to NotFoundError; the next GET or PUT names it.
 */
export function mapS3Error(err: unknown, op: string, key: string, url: string): Error {
  if (err instanceof FlotillaError) return err;
  const e = (err ?? {}) as SdkError;
  if (e.name === 'AbortError') return err as Error;
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? e.code ?? 'Error';
  const data = { url, key, op, status, s3Code: name };
  const where = `${op} ${key} in ${url}`;
  const opts = { cause: err };
  if (status === 412 || name === 'PreconditionFailed' || name === 'ConditionalRequestConflict') {
    return new PreconditionFailedError(`${where}: precondition failed (${name})`, data, opts);
  }
  if (name === 'NoSuchBucket') return new ConfigError(`${where}: the bucket does not exist`, data, opts);
  if (status === 404 || name === 'NoSuchKey' || name === 'NotFound') {
    return new NotFoundError(`${key} not found in ${url}`, data, opts);
  }
  if (status === 401 || status === 403) {
    return new AccessDeniedError(`${where}: access denied (${name}); check the S3 credentials`, data, opts);
  }
  if (status === 501) return new UnsupportedOperationError(`${where}: not implemented by the server (${name})`, data, opts);
  if (name === 'TimeoutError' || name === 'RequestTimeout' || e.code === 'ETIMEDOUT') {
    return new TimeoutError(`${where}: timed out`, data, opts);
  }
  return new TransportError(`${where}: ${name}${status === undefined ? '' : ` (HTTP ${status})`}: ${e.message ?? ''}`.trim(), data, opts);
}

/** True when the SDK's error is a 304 answer to a conditional GET (not a failure: the object is unchanged). */
export function isNotModified(err: unknown): boolean {
  const e = (err ?? {}) as SdkError;
  return e.$metadata?.httpStatusCode === 304 || e.name === 'NotModified' || (e.cause !== undefined && isNotModified(e.cause));
}
