import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** Which sender's header carried the signature. */
export type SignatureStyle = 'github' | 'gitea' | 'generic';

/** The outcome of checking a webhook's signature headers. */
export type SignatureCheck = { ok: true; styles: SignatureStyle[] } | { ok: false; reason: 'missing' | 'malformed' | 'mismatch'; header?: string };

/** The headers we accept, how their value is written, and which style they are. */
const HEADERS: ReadonlyArray<{ name: string; prefix: string; style: SignatureStyle }> = [
  { name: 'x-hub-signature-256', prefix: 'sha256=', style: 'github' },
  { name: 'x-gitea-signature', prefix: '', style: 'gitea' },
  { name: 'x-gogs-signature', prefix: '', style: 'gitea' },
  { name: 'x-flotilla-signature', prefix: 'sha256=', style: 'generic' },
];

/**
 * Verifies HMAC-SHA256 of the exact raw body with the shared secret, in constant time. Accepted headers:
 * GitHub `X-Hub-Signature-256: sha256=<hex>`, Gitea `X-Gitea-Signature: <hex>` (and Gogs), generic
 * `X-Flotilla-Signature: sha256=<hex>`. At least one must be present and every one present must verify
 * (senders like Gitea send several, all with the same secret). Never throws.
 */
export function verifyWebhookSignature(headers: IncomingHttpHeaders, rawBody: Uint8Array, secret: string | Uint8Array): SignatureCheck {
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  const styles: SignatureStyle[] = [];
  for (const { name, prefix, style } of HEADERS) {
    const raw = headers[name];
    if (raw === undefined) continue;
    const value = Array.isArray(raw) ? raw : [raw];
    if (value.length !== 1) return { ok: false, reason: 'malformed', header: name };
    const text = value[0]!.trim();
    const hex = text.toLowerCase().startsWith(prefix) ? text.slice(prefix.length) : undefined;
    if (hex === undefined || !/^[0-9a-fA-F]{64}$/.test(hex)) return { ok: false, reason: 'malformed', header: name };
    if (!timingSafeEqual(Buffer.from(hex, 'hex'), expected)) return { ok: false, reason: 'mismatch', header: name };
    styles.push(style);
  }
  return styles.length === 0 ? { ok: false, reason: 'missing' } : { ok: true, styles };
}

/** What we log about a push: never the whole payload (it may be large or hold private data). */
export interface PushSummary {
  event?: string;
  ref?: string;
  after?: string;
  repository?: string;
}

/**
 * Extracts event, ref, new commit and repository name from a GitHub/Gitea/generic push payload, for the
 * log line only (the tick re-reads the repo itself and trusts nothing here). Tolerates any body.
 */
export function summarizePush(headers: IncomingHttpHeaders, rawBody: Uint8Array): PushSummary {
  const summary: PushSummary = {};
  const event = headers['x-github-event'] ?? headers['x-gitea-event'] ?? headers['x-gogs-event'] ?? headers['x-flotilla-event'];
  if (typeof event === 'string') summary.event = event.slice(0, 64);
  try {
    const payload: unknown = JSON.parse(Buffer.from(rawBody).toString('utf8'));
    if (typeof payload === 'object' && payload !== null) {
      const p = payload as Record<string, unknown>;
      if (typeof p['ref'] === 'string') summary.ref = p['ref'].slice(0, 256);
      if (typeof p['after'] === 'string') summary.after = p['after'].slice(0, 64);
      const repo = p['repository'];
      if (typeof repo === 'object' && repo !== null) {
        const name = (repo as Record<string, unknown>)['full_name'];
        if (typeof name === 'string') summary.repository = name.slice(0, 256);
      }
    }
  } catch {
    // Not JSON (form-encoded, empty): nothing to summarise.
  }
  return summary;
}
