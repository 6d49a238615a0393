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

// Node's codes for a server certificate that does not chain to a trusted CA: the usual cause is a private
// CA, which Node takes from NODE_EXTRA_CA_CERTS. Other certificate faults (expired, wrong name) are the server's.
const UNTRUSTED_CERT = new Set(['SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_UNTRUSTED']);
const BAD_CERT = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_REVOKED', 'CERT_SIGNATURE_FAILURE', 'ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH']);

/** The TLS code when `err` is a refused server certificate (asking again would be refused again), else undefined. */
export function certificateErrorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
  const code = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : undefined;
  return code !== undefined && (UNTRUSTED_CERT.has(code) || BAD_CERT.has(code)) ? code : undefined;
}

/** Maps a fetch/network/abort error: timeouts → TimeoutError, the rest → TransportError; FlotillaErrors pass. */
export function httpNetworkError(err: unknown, op: string, key: string, url: string): Error {
  if (err instanceof FlotillaError) return err;
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  const data = { url, key, op };
  if (e.name === 'TimeoutError') return new TimeoutError(`${op} ${key} in ${url}: deadline passed`, data, { cause: err });
  if (e.name === 'AbortError') return err as Error;
  const cert = certificateErrorCode(err);
  if (cert !== undefined) {
    const what = UNTRUSTED_CERT.has(cert)
      ? `the server's TLS certificate does not chain to a trusted CA (${cert}); if it comes from a private CA, give Node that CA: NODE_EXTRA_CA_CERTS=/path/to/ca.pem in the environment of flotilla (and of the agent's service)`
      : `the server's TLS certificate is refused (${cert}: ${e.message ?? ''}); the server must present a valid certificate for this host`;
    return new TransportError(`${op} ${key} in ${url}: ${what}`, { ...data, tls: cert }, { cause: err });
  }
  const detail = e.cause?.code ?? e.cause?.message ?? e.message ?? 'network error';
  return new TransportError(`${op} ${key} in ${url}: ${detail}`, data, { cause: err });
}
