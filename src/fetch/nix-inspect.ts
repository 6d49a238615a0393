import { KeyError } from '../errors/index.js';
import { checkNar, openNixCache, resolveNixClosure, trustedSigners, type NarInfo, type NixCache, type NixTrustPolicy, type OpenNixCacheOptions } from '../nix/index.js';
import type { NixStorePath } from '../store/closure-ref.js';

/** A closure's narinfos as one cache lists them, signatures not yet judged. */
export interface ListedNixClosure {
  /** The cache URL it was read from, as given. */
  url: string;
  /** Dependencies first, the top path last. */
  closure: NarInfo[];
}

/**
 * Reads the closure of `top` from the first cache among `urls` (mirror order) that has it whole, WITHOUT
 * checking signatures: for showing a closure (plan, diff, show) and for verify's per-path report, never for
 * placing one. Throws the first cache's error (NotFoundError naming the missing path, IntegrityError) when
 * none has it, KeyError when `urls` is empty.
 */
export async function listNixClosure(urls: readonly string[], top: NixStorePath, options: OpenNixCacheOptions = {}): Promise<ListedNixClosure> {
  if (urls.length === 0) throw new KeyError(`no Nix binary cache (nix+file://, nix+https://, nix+s3://) is given to read ${top} from`, { storePath: top });
  let first: unknown;
  for (const url of urls) {
    let cache: NixCache | undefined;
    try {
      cache = await openNixCache(url, options);
      return { url, closure: await resolveNixClosure(cache, top, null, options.signal ? { signal: options.signal } : {}) };
    } catch (err) {
      first ??= err;
    } finally {
      await cache?.close();
    }
  }
  throw first;
}

/** One path of a verified Nix closure. */
export interface NixPathVerdict {
  storePath: string;
  narSize: number;
  fileSize: number;
  /** Trusted keys whose signature verified. */
  signers: string[];
  /** Why the path fails (signature below threshold, NAR hash/size/structure), or absent when it holds. */
  problem?: string;
}

/** What verifyNixClosure found: `ok` only when every path is signed enough and its NAR checks. */
export interface NixVerifyReport {
  ok: boolean;
  top: string;
  cache: string;
  paths: NixPathVerdict[];
  narBytesChecked: number;
}

/**
 * Verifies every path of `top`'s closure in the first cache that lists it whole: each narinfo's signatures
 * against `trust` (threshold distinct keys) and, unless `signaturesOnly`, each NAR downloaded and checked
 * (FileSize, FileHash, NarSize, NarHash, NAR rules) without writing anything. Reports every failing path
 * rather than stopping at the first; throws only when the closure cannot be listed at all.
 */
export async function verifyNixClosure(urls: readonly string[], top: NixStorePath, trust: NixTrustPolicy, o: OpenNixCacheOptions & { signaturesOnly?: boolean } = {}): Promise<NixVerifyReport> {
  const listed = await listNixClosure(urls, top, o);
  const threshold = Math.max(1, trust.threshold);
  const cache = await openNixCache(listed.url, o);
  let narBytesChecked = 0;
  try {
    const paths: NixPathVerdict[] = [];
    for (const info of listed.closure) {
      const signers = trustedSigners(info, trust);
      const v: NixPathVerdict = { storePath: info.storePath, narSize: info.narSize, fileSize: info.fileSize ?? info.narSize, signers };
      if (signers.length < threshold) {
        const listedSigs = info.sigs.map((s) => s.slice(0, Math.max(0, s.indexOf(':'))));
        v.problem = `${signers.length} valid signature(s) by trusted Nix keys, ${threshold} required (signed by: ${listedSigs.join(', ') || 'nobody'})`;
      } else if (o.signaturesOnly !== true) {
        try {
          narBytesChecked += (await checkNar(cache, info, o.signal)).narBytes;
        } catch (err) {
          v.problem = `${(err as { code?: string }).code ?? 'Error'}: ${(err as Error).message}`;
        }
      }
      paths.push(v);
    }
    return { ok: paths.every((p) => p.problem === undefined), top, cache: listed.url, paths, narBytesChecked };
  } finally {
    await cache.close();
  }
}
