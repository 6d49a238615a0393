import type { RepoConfig } from '../declarations/types.js';
import { nixTrustOf } from '../fetch/nix-closure.js';
import { listNixClosure } from '../fetch/nix-inspect.js';
import { trustedSigners } from '../nix/index.js';
import { storesFor, type NixStorePath } from '../store/closure-ref.js';
import type { ClosureFacts } from './types.js';

const messageOf = (err: unknown): string => (err instanceof Error ? `${(err as { code?: string }).code ?? 'Error'}: ${err.message}` : String(err));

/**
 * What the Nix caches among `urls` say about `top` under HEAD's `nix:` trust (`config` null when HEAD's
 * declarations are invalid). The closure is listed without signature checks, so the plan can show its
 * paths even when it is unsigned; then every path's signatures are judged, and a path short of the
 * threshold fails the signatures fact, naming it. Never throws: every problem is a reason in the facts.
 */
export async function inspectNixClosure(urls: readonly string[], top: NixStorePath, config: RepoConfig | null, signal?: AbortSignal): Promise<ClosureFacts> {
  const facts: ClosureFacts = { digest: top, packages: null, nixPaths: null, signatures: { ok: false, reason: 'not checked' } };
  let listed;
  try {
    listed = await listNixClosure(storesFor(urls, 'nix'), top, signal ? { signal } : {});
    facts.nixCache = listed.url;
    facts.nixPaths = listed.closure.map((i) => ({ storePath: i.storePath, narSize: i.narSize, fileSize: i.fileSize ?? i.narSize }));
  } catch (err) {
    facts.readError = messageOf(err);
    facts.signatures = { ok: false, reason: 'the closure could not be read, so its signatures were not checked' };
    return facts;
  }
  if (config === null) {
    facts.signatures = { ok: false, reason: 'no Nix trust at HEAD (declarations invalid)' };
    return facts;
  }
  try {
    const trust = nixTrustOf(config.nix);
    const threshold = Math.max(1, trust.threshold);
    const short = listed.closure.filter((i) => trustedSigners(i, trust).length < threshold);
    if (short.length > 0) {
      facts.signatures = {
        ok: false,
        reason: `${short.length} of ${listed.closure.length} store path(s) lack ${threshold} valid signature(s) by nix.trustedKeys at HEAD (${[...trust.keys.keys()].join(', ')}): ${short.map((i) => i.storePath).join(', ')}; agents would refuse the closure`,
      };
    } else {
      facts.signatures = { ok: true, signers: [...new Set(listed.closure.flatMap((i) => trustedSigners(i, trust)))].sort() };
    }
  } catch (err) {
    facts.signatures = { ok: false, reason: messageOf(err) };
  }
  return facts;
}
