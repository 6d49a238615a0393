import { readFileSync } from 'node:fs';
import { KeyError } from '../errors/index.js';
import type { PublisherPolicy } from './manifest-policy.js';
import { parsePublicKey, type PublicKey } from './publisher-key.js';

/**
 * Parses `--trust` values: each is `NAME:base64` or `@FILE` (a file of such lines; blank lines and `#`
 * comments skipped). Throws KeyError naming the bad value or file; an empty result is refused.
 */
export function parseTrustList(values: string[], cwdResolve: (p: string) => string = (p) => p): PublicKey[] {
  const keys: PublicKey[] = [];
  for (const v of values) {
    if (v.startsWith('@')) {
      const file = cwdResolve(v.slice(1));
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        throw new KeyError(`cannot read trusted keys file ${file}`, { file });
      }
      const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
      if (lines.length === 0) throw new KeyError(`trusted keys file ${file} holds no keys`, { file });
      keys.push(...lines.map(parsePublicKey));
    } else keys.push(parsePublicKey(v));
  }
  return keys;
}

/** Builds a PublisherPolicy from CLI-style inputs. Throws KeyError when no key is trusted. */
export function buildPolicy(o: { trust: string[]; threshold?: string; requireDeployable?: boolean; promoters?: string[]; resolve?: (p: string) => string }): PublisherPolicy {
  const trusted = parseTrustList(o.trust, o.resolve);
  if (trusted.length === 0) throw new KeyError('no trusted publisher key given (--trust NAME:KEY); verification is never off', {});
  const threshold = o.threshold === undefined ? 1 : Number(o.threshold);
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > trusted.length) {
    throw new KeyError(`--threshold must be an integer from 1 to ${trusted.length} (the number of trusted keys), got ${o.threshold}`, {});
  }
  const policy: PublisherPolicy = { trusted, threshold, requireDeployable: o.requireDeployable ?? false };
  if (o.promoters && o.promoters.length > 0) policy.promoters = parseTrustList(o.promoters, o.resolve);
  return policy;
}
