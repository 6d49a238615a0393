import { closureKind, storeKindOf, type ClosureKind } from '../store/closure-ref.js';
import { issueAt } from './issue-at.js';
import type { Rule } from './rule-types.js';
import type { DeclarationIssue } from './result.js';

const STORE_NAMES: Record<ClosureKind, string> = {
  nix: 'a Nix binary cache (nix+file:///..., nix+https://... or nix+s3://...)',
  flotilla: 'a Flotilla store (a path, file:///..., s3://... or https://...)',
};

const CLOSURE_NAMES: Record<ClosureKind, string> = { nix: 'a Nix store path', flotilla: 'a closure digest' };

/**
 * A set's closure must come from a store of its kind: a Nix store path needs a Nix binary cache among
 * flotilla.yaml's stores, a digest a Flotilla store. Reported on the set's closure line (the stores are
 * repo-wide; an agent's own store list is checked again when it loads).
 */
export const closureHasStore: Rule = {
  name: 'closure-store-kind',
  check: ({ config, sets }) => {
    if (!config) return [];
    const kinds = new Set(config.raw.stores.map(storeKindOf));
    return sets.flatMap((s): DeclarationIssue[] => {
      const kind = closureKind(s.set.closure);
      if (kinds.has(kind)) return [];
      return [issueAt(s.parsed, '/closure', `${CLOSURE_NAMES[kind]} needs ${STORE_NAMES[kind]} in flotilla.yaml stores, and there is none`, 'closure-store-kind')];
    });
  },
};

/** A Nix store path can only be verified against trusted Nix keys: flotilla.yaml must have nix.trustedKeys. */
export const nixKeysForNixClosure: Rule = {
  name: 'nix-keys-required',
  check: ({ config, sets }) => {
    if (!config || config.raw.nix !== undefined) return [];
    return sets
      .filter((s) => closureKind(s.set.closure) === 'nix')
      .map((s) => issueAt(s.parsed, '/closure', 'a Nix store path needs trusted Nix signing keys: add nix: { trustedKeys: ["NAME:BASE64"] } to flotilla.yaml', 'nix-keys-required'));
  },
};

/** nix.threshold cannot exceed the trusted keys; key names are unique; keys are canonical base64 of 32 bytes. */
export const nixKeysUsable: Rule = {
  name: 'nix-key',
  check: ({ config }) => {
    const nix = config?.raw.nix;
    if (!config || !nix) return [];
    const issues: DeclarationIssue[] = [];
    if (nix.threshold !== undefined && nix.threshold > nix.trustedKeys.length) {
      issues.push(issueAt(config.parsed, '/nix/threshold', `threshold ${nix.threshold} is more than the ${nix.trustedKeys.length} trusted Nix key(s)`, 'nix-key'));
    }
    const seen = new Set<string>();
    nix.trustedKeys.forEach((k, i) => {
      const name = k.slice(0, k.indexOf(':'));
      const b64 = k.slice(k.indexOf(':') + 1);
      const bytes = Buffer.from(b64, 'base64');
      if (seen.has(name)) issues.push(issueAt(config.parsed, `/nix/trustedKeys/${i}`, `key name "${name}" appears twice`, 'nix-key'));
      else if (bytes.length !== 32 || bytes.toString('base64') !== b64) {
        issues.push(issueAt(config.parsed, `/nix/trustedKeys/${i}`, 'key is not canonical base64 of a 32-byte ed25519 public key (copy the line `nix key convert-secret-to-public` prints)', 'nix-key'));
      }
      seen.add(name);
    });
    return issues;
  },
};
