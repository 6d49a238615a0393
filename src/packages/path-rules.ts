import { ManifestError } from '../errors/index.js';
import type { ManifestLimits } from './limits.js';

// C0 controls and DEL: never in a name (terminal injection, NUL truncation).
const CONTROL_RE = /[\u0000-\u001f\u007f]/;
const DRIVE_RE = /^[A-Za-z]:/;
// Printable ASCII: well-formed, NFC, one byte per character and case-folded by toLowerCase, so the
// Unicode checks (a UTF-8 round trip, two normalisations) can be skipped for the common path.
const PRINTABLE_ASCII_RE = /^[\x20-\x7e]*$/;

/** True when `s` survives a UTF-8 round trip (no lone surrogates). */
function isWellFormed(s: string): boolean {
  return Buffer.from(s, 'utf8').toString('utf8') === s;
}

/**
 * Checks one entry path: relative, slash-separated, NFC, no empty/`.`/`..` segments, no backslash,
 * no drive prefix, no control characters, within the name/path/depth limits.
 * Throws ManifestError naming the path and the rule; returns the segments.
 */
export function checkEntryPath(path: string, limits: ManifestLimits): string[] {
  const fail = (rule: string): never => {
    throw new ManifestError(`unsafe path ${JSON.stringify(path.slice(0, 200))}: ${rule}`, { path: path.slice(0, 4096), rule });
  };
  if (path.length === 0) fail('empty path');
  const ascii = PRINTABLE_ASCII_RE.test(path);
  if ((ascii ? path.length : Buffer.byteLength(path, 'utf8')) > limits.maxPathBytes) fail(`longer than ${limits.maxPathBytes} bytes`);
  if (!ascii && !isWellFormed(path)) fail('not well-formed Unicode');
  if (!ascii && path.normalize('NFC') !== path) fail('not in Unicode NFC form');
  if (path.startsWith('/')) fail('absolute path');
  if (DRIVE_RE.test(path)) fail('drive-letter path');
  if (path.includes('\\')) fail('backslash in path');
  if (CONTROL_RE.test(path)) fail('control character in path');
  const segments = path.split('/');
  if (segments.length > limits.maxDepth) fail(`deeper than ${limits.maxDepth} levels`);
  for (const s of segments) {
    if (s === '') fail('empty segment');
    if (s === '.' || s === '..') fail(`"${s}" segment`);
    if ((ascii ? s.length : Buffer.byteLength(s, 'utf8')) > limits.maxNameBytes) fail(`a name longer than ${limits.maxNameBytes} bytes`);
  }
  return segments;
}

/**
 * Checks a symlink target's spelling: non-empty, relative, no backslash, no drive, no control characters,
 * within the path limit. Where it resolves is checked separately (symlink-rules.ts).
 */
export function checkSymlinkTarget(path: string, target: string, limits: ManifestLimits): void {
  const fail = (rule: string): never => {
    throw new ManifestError(`symlink ${JSON.stringify(path.slice(0, 200))} -> ${JSON.stringify(target.slice(0, 200))}: ${rule}`, {
      path,
      target: target.slice(0, 4096),
      rule,
    });
  };
  if (target.length === 0) fail('empty target');
  if (Buffer.byteLength(target, 'utf8') > limits.maxPathBytes) fail(`target longer than ${limits.maxPathBytes} bytes`);
  if (!isWellFormed(target)) fail('target not well-formed Unicode');
  if (target.startsWith('/')) fail('absolute target');
  if (DRIVE_RE.test(target)) fail('drive-letter target');
  if (target.includes('\\')) fail('backslash in target');
  if (CONTROL_RE.test(target)) fail('control character in target');
}

/**
 * The key two paths collide on when a case-insensitive or normalising filesystem (macOS, Windows) would
 * store them as one: NFD-decomposed, then lower-cased, then recomposed.
 */
export function collisionKey(path: string): string {
  if (PRINTABLE_ASCII_RE.test(path)) return path.toLowerCase();
  return path.normalize('NFD').toLowerCase().toUpperCase().toLowerCase().normalize('NFC');
}
