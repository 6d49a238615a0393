import { IntegrityError, SizeLimitError } from '../errors/index.js';
import { formatSha256, parseSha256 } from './hash.js';
import { NIX_STORE_DIR, parseStorePath, storePathOfBase } from './store-path.js';

/** The compressions a narinfo may name (an absent Compression line means bzip2, as in Nix). */
export type NixCompression = 'none' | 'xz' | 'zstd' | 'bzip2' | 'gzip';
const COMPRESSIONS: readonly NixCompression[] = ['none', 'xz', 'zstd', 'bzip2', 'gzip'];

/**
 * One `.narinfo`, parsed and normalised: hashes as `sha256:<base-32>`, references and deriver as full store
 * paths (references sorted, as the signature fingerprint needs them). Only StorePath, NarHash, NarSize and
 * References are covered by the signature; URL, Compression, FileHash and FileSize are hints that the NAR
 * hash check makes safe.
 */
export interface NarInfo {
  storePath: string;
  /** The NAR's location relative to the cache root (a store key). */
  url: string;
  compression: NixCompression;
  fileHash?: string;
  fileSize?: number;
  narHash: string;
  narSize: number;
  references: string[];
  deriver?: string;
  /** `keyname:base64` signatures, as listed. */
  sigs: string[];
}

/** A narinfo is a few lines; anything past this is refused before parsing. */
export const MAX_NARINFO_BYTES = 1024 * 1024;
const MAX_REFERENCES = 100_000;
const MAX_SIGS = 64;

function parseSize(text: string, field: string, bad: (why: string) => never): number {
  if (!/^[0-9]{1,16}$/.test(text)) return bad(`${field} ${JSON.stringify(text.slice(0, 40))} is not a byte count`);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) return bad(`${field} is too large`);
  return n;
}

/** Checks a NAR URL is a relative store key: no scheme, no absolute path, no `.`/`..` or empty segments. */
function checkNarUrl(url: string, bad: (why: string) => never): string {
  const segs = url.split('/');
  if (url === '' || /[\u0000-\u001f\u007f\\?#:%]/.test(url) || segs.some((s) => s === '' || s.startsWith('.'))) {
    return bad(`URL ${JSON.stringify(url.slice(0, 120))} is not a relative path inside the cache (e.g. nar/<hash>.nar.xz)`);
  }
  return url;
}

/**
 * Parses the text of `<hash>.narinfo` (Nix's `Key: value` lines; unknown keys ignored, as Nix does).
 * `expectedPath` is the store path whose narinfo was asked for: a StorePath naming another path is refused,
 * so a cache cannot answer one path's question with another's (signed) narinfo. Throws IntegrityError
 * naming the store path for a missing or malformed field.
 */
export function parseNarInfo(text: string, expectedPath: string): NarInfo {
  const bad = (why: string): never => {
    throw new IntegrityError(`narinfo of ${expectedPath}: ${why}`, { storePath: expectedPath });
  };
  const fields = new Map<string, string>();
  const sigs: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return bad(`line ${JSON.stringify(line.slice(0, 80))} is not "Key: value"`);
    const key = line.slice(0, colon);
    const value = line.slice(line[colon + 1] === ' ' ? colon + 2 : colon + 1);
    if (key === 'Sig') {
      if (sigs.length >= MAX_SIGS) return bad(`more than ${MAX_SIGS} signatures`);
      sigs.push(value);
    } else if (fields.has(key)) return bad(`${key} appears twice`);
    else fields.set(key, value);
  }
  const need = (k: string): string => fields.get(k) ?? bad(`has no ${k} line`);
  const storePath = parseStorePath(need('StorePath')).path;
  if (storePath !== expectedPath) return bad(`its StorePath is ${storePath}, not the path it was fetched for`);
  const compression = fields.get('Compression') ?? 'bzip2';
  if (!(COMPRESSIONS as readonly string[]).includes(compression)) {
    return bad(`Compression ${JSON.stringify(compression.slice(0, 40))} is not one of ${COMPRESSIONS.join(', ')}`);
  }
  const narSize = parseSize(need('NarSize'), 'NarSize', bad);
  if (narSize === 0) return bad('NarSize is 0');
  const refText = fields.get('References') ?? '';
  const refBases = refText === '' ? [] : refText.split(' ');
  if (refBases.length > MAX_REFERENCES) return bad(`more than ${MAX_REFERENCES} references`);
  const references = refBases.map((b) => storePathOfBase(b).path).sort();
  if (new Set(references).size !== references.length) return bad('References lists a path twice');
  const deriver = fields.get('Deriver');
  const fileHash = fields.get('FileHash');
  const fileSize = fields.get('FileSize');
  return {
    storePath,
    url: checkNarUrl(need('URL'), bad),
    compression: compression as NixCompression,
    ...(fileHash !== undefined ? { fileHash: formatSha256(parseSha256(fileHash, `FileHash of ${storePath}`)) } : {}),
    ...(fileSize !== undefined ? { fileSize: parseSize(fileSize, 'FileSize', bad) } : {}),
    narHash: formatSha256(parseSha256(need('NarHash'), `NarHash of ${storePath}`)),
    narSize,
    references,
    ...(deriver !== undefined && deriver !== 'unknown-deriver' ? { deriver: `${NIX_STORE_DIR}/${deriver}` } : {}),
    sigs,
  };
}

/** What a cache's `nix-cache-info` declares. */
export interface NixCacheInfo {
  storeDir: string;
  wantMassQuery: boolean;
  priority?: number;
}

/** Parses `nix-cache-info`. Throws IntegrityError naming `cacheUrl` when StoreDir is missing. */
export function parseNixCacheInfo(text: string, cacheUrl: string): NixCacheInfo {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(': ');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 2).trim());
  }
  const storeDir = fields.get('StoreDir');
  if (storeDir === undefined) {
    throw new IntegrityError(`nix-cache-info of ${cacheUrl} has no StoreDir line; is this a Nix binary cache?`, { url: cacheUrl });
  }
  const priority = fields.get('Priority');
  return {
    storeDir,
    wantMassQuery: fields.get('WantMassQuery') === '1',
    ...(priority !== undefined && /^[0-9]{1,6}$/.test(priority) ? { priority: Number(priority) } : {}),
  };
}

/** The error for a NAR that decompresses (or reads) past its signed NarSize: one wording for every reader. */
export function narTooBig(info: Pick<NarInfo, 'storePath' | 'narSize'>): SizeLimitError {
  return new SizeLimitError(`NAR of ${info.storePath} is larger than its NarSize ${info.narSize}`, { storePath: info.storePath, maxBytes: info.narSize });
}
