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
  try {
    parseStoreUrl(url);
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}
