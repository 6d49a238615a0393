import { isNixCacheUrl } from '../nix/index.js';
import { storeKindOf } from '../store/closure-ref.js';
import { parseStoreUrl } from '../store/store-url.js';

const SECRET_PARAM = /secret|token|password|signature|credential|key/i;

/**
 * Why a store URL from a declaration cannot be used (undefined: fine). Credentials in the query are refused
 * first, with advice on where they go; then anything parseStoreUrl refuses (unknown parameters included).
 */
export function storeUrlProblem(url: string): string | undefined {
  const q = url.indexOf('?');
  if (q >= 0) {
    const bad = [...new URLSearchParams(url.slice(q + 1)).keys()].find((k) => SECRET_PARAM.test(k));
    if (bad !== undefined) return `query parameter "${bad}" looks like a credential: give credentials by environment variable, never in the URL`;
  }
  // A Nix binary cache is an ordinary store URL behind `nix+` (src/nix opens it over that backend).
  const nix = storeKindOf(url) === 'nix';
  if (nix && !isNixCacheUrl(url)) return `${url.split('//')[0] ?? url} is not a Nix cache scheme: use nix+file:///..., nix+http(s)://... or nix+s3://...`;
  try {
    parseStoreUrl(nix ? url.slice('nix+'.length) : url);
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}
