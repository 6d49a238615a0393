import {
  AccessDeniedError,
  FlotillaError,
  NotFoundError,
  PreconditionFailedError,
  TimeoutError,
  TransportError,
} from '../errors/index.js';

/**
 * Maps an HTTP status to a FlotillaError naming the operation, key and URL: 404/410 → NotFoundError,
 * 401/403 → AccessDeniedError, 412 → PreconditionFailedError, anything else → TransportError.
 */
export function httpStatusError(status: number, op: string, key: string, url: string): FlotillaError {
  const data = { url, key, op, status };
  const where = `${op} ${key} in ${url}`;
  if (status === 404 || status === 410) return new NotFoundError(`${key} not found in ${url}`, data);
  if (status === 401 || status === 403) return new AccessDeniedError(`${where}: access denied (HTTP ${status})`, data);
  if (status === 412) return new PreconditionFailedError(`${where}: precondition failed`, data);
  return new TransportError(`${where}: HTTP ${status}`, data);
}

/** Maps a fetch/network/abort error: timeouts → TimeoutError, the rest → TransportError; FlotillaErrors pass. */
export function httpNetworkError(err: unknown, op: string, key: string, url: string): Error {
  if (err instanceof FlotillaError) return err;
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  const data = { url, key, op };
  if (e.name === 'TimeoutError') return new TimeoutError(`${op} ${key} in ${url}: deadline passed`, data, { cause: err });
  if (e.name === 'AbortError') return err as Error;
  const detail = e.cause?.code ?? e.cause?.message ?? e.message ?? 'network error';
  return new TransportError(`${op} ${key} in ${url}: ${detail}`, data, { cause: err });
}
