/**
 * Nix binary caches as a Flotilla store: read, verify, materialise. The one entry of src/nix/; callers
 * (fetch/, generations/, reconcile/, cli/) import from here only.
 *
 * The flow, each step checking before the next trusts it:
 *
 *   const cache = await openNixCache('nix+s3://bucket?endpoint=…&region=…', { credentials });  // nix-cache-info
 *   const closure = await resolveNixClosure(cache, '/nix/store/<hash>-app', trust);              // narinfos, signed
 *   const r = await materialiseNixClosure(cache, closure, '/');                                  // NARs, hashed, placed
 *   await cache.close();
 *
 * URL forms: `nix+file:///dir`, `nix+https://host/path`, `nix+http://…`, `nix+s3://bucket/prefix?endpoint=…
 * &region=…` (the part after `nix+` is an ordinary Flotilla store URL, with its deadline parameters).
 *
 * Errors: InvalidNameError (not a store path), ConfigError (not a Nix cache URL, StoreDir not /nix/store),
 * KeyError (malformed public key), SignatureError (too few trusted signatures, or one over other fields),
 * NotFoundError (path or NAR missing from the cache, missing reference), IntegrityError (malformed narinfo,
 * StorePath differing from the file name, reference cycle, NAR hash/size mismatch, truncated or malformed NAR),
 * SizeLimitError (download larger than declared); and the store's transport errors. Each names the store path.
 */
export { NIX_STORE_DIR, parseStorePath, storePathOfBase, storeBaseName, type NixPath } from './store-path.js';
export { parseNarInfo, parseNixCacheInfo, MAX_NARINFO_BYTES, type NarInfo, type NixCacheInfo, type NixCompression } from './narinfo.js';
export { parseSha256, formatSha256 } from './hash.js';
export { encodeNixBase32, decodeNixBase32 } from './base32.js';
export { parseNixPublicKey, narInfoFingerprint, trustedSigners, trustedSignersAsync, type NixTrustPolicy } from './signatures.js';
export { isNixCacheUrl, openNixCache, type NixCache, type OpenNixCacheOptions } from './cache.js';
export { resolveNixClosure, type ResolveOptions } from './closure.js';
export {
  materialiseNixClosure,
  type MaterialiseOptions,
  type MaterialiseResult,
  type NixProgress,
} from './materialise.js';
export { parseNar, NAR_LIMITS, type NarSink } from './nar-parser.js';
export type { NarFileWriter } from './nar-unpack.js';
export { checkNar } from './fetch-nar.js';
export { createDecompressor, decompressorSourceFor, IN_PROCESS_FILE_MAX, IN_PROCESS_NAR_MAX, type DecompressorSource } from './decompress.js';
export { systemDecompressor } from './decompress-tool.js';
export { spawnToolReader, type ToolReader, type ToolReaderOptions } from './tool-reader.js';
export { nixStoreDirUnder, nixDbFileUnder } from './root-layout.js';
export { readKeptNarInfo, stageNarInfos, type StagedNarInfos } from './narinfo-cache.js';
export { knownRegistered, recordRegistered } from './registered-record.js';
export { forgetNixPaths } from './forget-paths.js';
export { sweepStaleNixTemps, type SweptNixTemps } from './stale-temps.js';
export { nixTempNameFor, judgeNixTemp } from './temp-names.js';
export { localFirstCache, type LocalFirstCache } from './local-first-cache.js';
export { narHashOfPath } from './nar-hash-path.js';
export { checkPlacedPath, removeDamagedPlacedPaths, type DamagedNixPath } from './check-placed.js';
export { diffNixClosures, type NixClosureDiff, type NixPathSize } from './closure-diff.js';
