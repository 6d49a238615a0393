import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header a webhook receiver checks: `X-Flotilla-Signature: sha256=<hex of HMAC-SHA256(secret, body)>`. */
export const SIGNATURE_HEADER = 'X-Flotilla-Signature';

/** `sha256=<hex>`: HMAC-SHA256 of exactly `body` under `secret`. */
export function signBody(body: Uint8Array, secret: Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * True when `header` is `sha256=<hex>` and the hex is the HMAC of `body` under `secret`, compared in constant
 * time. What a receiver runs (docs/operations.md#notifications shows it); false for anything malformed.
 */
export function verifyBodySignature(body: Uint8Array, secret: Uint8Array, header: string | undefined): boolean {
  if (header === undefined || !/^sha256=[0-9a-f]{64}$/.test(header)) return false;
  const want = Buffer.from(signBody(body, secret), 'utf8');
  const got = Buffer.from(header, 'utf8');
  return want.length === got.length && timingSafeEqual(want, got);
}
