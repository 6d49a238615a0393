import { issueAt } from './issue-at.js';
import { storeUrlProblem } from './store-url-check.js';
import type { Rule } from './rule-types.js';
import type { DeclarationIssue } from './result.js';

/** publishers.threshold cannot exceed the number of trusted keys (nothing could ever be deployed). */
export const thresholdReachable: Rule = {
  name: 'threshold-exceeds-keys',
  check: ({ config }) => {
    if (!config) return [];
    const { keys, threshold } = config.raw.publishers;
    return threshold !== undefined && threshold > keys.length
      ? [issueAt(config.parsed, '/publishers/threshold', `threshold ${threshold} is more than the ${keys.length} trusted key(s)`, 'threshold-exceeds-keys')]
      : [];
  },
};

/** requireDeployable needs at least one promoter key. */
export const promoterKeysPresent: Rule = {
  name: 'promoter-keys-required',
  check: ({ config }) => {
    if (!config?.raw.publishers.requireDeployable) return [];
    return (config.raw.publishers.promoterKeys ?? []).length === 0
      ? [issueAt(config.parsed, '/publishers/requireDeployable', 'requireDeployable is true but publishers.promoterKeys is empty', 'promoter-keys-required')]
      : [];
  },
};

/** Key names are unique within keys and within promoterKeys (a signature is found by its key name). */
export const uniqueKeyNames: Rule = {
  name: 'duplicate-key-name',
  check: ({ config }) => {
    if (!config) return [];
    const issues: DeclarationIssue[] = [];
    for (const field of ['keys', 'promoterKeys'] as const) {
      const seen = new Set<string>();
      (config.raw.publishers[field] ?? []).forEach((k, i) => {
        const name = k.slice(0, k.indexOf(':'));
        if (seen.has(name)) issues.push(issueAt(config.parsed, `/publishers/${field}/${i}`, `key name "${name}" appears twice`, 'duplicate-key-name'));
        seen.add(name);
      });
    }
    return issues;
  },
};

/** Every store URL (the mirrors and the head pointer's store) must be one the store layer can open, without credentials in it. */
export const storeUrlsUsable: Rule = {
  name: 'store-url',
  check: ({ config }) => {
    if (!config) return [];
    const urls: [string, string][] = config.raw.stores.map((url, i) => [url, `/stores/${i}`]);
    if (config.raw.headPointer?.store !== undefined) urls.push([config.raw.headPointer.store, '/headPointer/store']);
    return urls.flatMap(([url, pointer]): DeclarationIssue[] => {
      const problem = storeUrlProblem(url);
      return problem === undefined ? [] : [issueAt(config.parsed, pointer, problem, 'store-url')];
    });
  },
};

/**
 * Receiver names are unique (the outbox tracks deliveries by name), and a receiver carries only its type's
 * fields: a command with a url (or a webhook with a command) is a mistake someone would otherwise debug live.
 */
export const receiversWellFormed: Rule = {
  name: 'receiver',
  check: ({ config }) => {
    if (!config) return [];
    const issues: DeclarationIssue[] = [];
    const seen = new Set<string>();
    (config.raw.notifications?.receivers ?? []).forEach((r, i) => {
      const at = `/notifications/receivers/${i}`;
      if (seen.has(r.name)) issues.push(issueAt(config.parsed, `${at}/name`, `receiver name "${r.name}" appears twice`, 'receiver'));
      seen.add(r.name);
      const foreign = r.type === 'webhook' ? (['command'] as const) : (['url', 'secret'] as const);
      for (const field of foreign) {
        if (r[field] !== undefined) issues.push(issueAt(config.parsed, `${at}/${field}`, `a ${r.type} receiver has no ${field}: remove it or set type: ${r.type === 'webhook' ? 'command' : 'webhook'}`, 'receiver'));
      }
    });
    return issues;
  },
};

/** Publisher keys must be canonical base64 of 32 bytes (the pattern admits a few non-canonical spellings). */
export const publisherKeysCanonical: Rule = {
  name: 'publisher-key',
  check: ({ config }) => {
    if (!config) return [];
    const issues: DeclarationIssue[] = [];
    for (const field of ['keys', 'promoterKeys'] as const) {
      (config.raw.publishers[field] ?? []).forEach((k, i) => {
        const b64 = k.slice(k.indexOf(':') + 1);
        const bytes = Buffer.from(b64, 'base64');
        if (bytes.length !== 32 || bytes.toString('base64') !== b64) {
          issues.push(issueAt(config.parsed, `/publishers/${field}/${i}`, 'key is not canonical base64 of a 32-byte ed25519 public key', 'publisher-key'));
        }
      });
    }
    return issues;
  },
};
