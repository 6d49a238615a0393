import { KeyError } from '../errors/index.js';
import { parseSshPublicKey, type SshPublicKey } from './ssh-public-key.js';
import { SshWireError } from './ssh-wire.js';

/** One line of an allowed_signers file (git's `gpg.ssh.allowedSignersFile`, ssh-keygen's ALLOWED SIGNERS). */
export interface AllowedSigner {
  /** Principal patterns (comma-separated in the file; may hold `*`, `?`, `!`). */
  principals: string[];
  /** `namespaces="…"` patterns; undefined means any namespace. */
  namespaces?: string[];
  /** `valid-after` / `valid-before` as epoch milliseconds. */
  validAfter?: number;
  validBefore?: number;
  /** `cert-authority`: the key signs certificates; it never matches a plain key. */
  certAuthority: boolean;
  keyType: string;
  /** The key, when it is a type we verify; undefined for types we do not (security keys, certificates). */
  key?: SshPublicKey;
  keyBlob: Buffer;
  /** Where the line came from, for messages: `FILE:LINE`. */
  origin: string;
}

/** Splits on whitespace (or `sep`), keeping double-quoted runs together. */
function splitQuoted(text: string, sep: RegExp): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && sep.test(ch)) {
      if (cur) out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (quoted) throw new Error('unterminated quote');
  if (cur) out.push(cur);
  return out;
}

const unquote = (s: string): string => (s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s);

/** ssh-keygen's time format: YYYYMMDD[HHMM[SS]][Z]; without Z it is local time, as ssh-keygen reads it. */
export function parseSshTime(value: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?(Z?)$/i.exec(value);
  if (!m) throw new Error(`bad time ${JSON.stringify(value)} (want YYYYMMDD[HHMM[SS]][Z])`);
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map((x) => Number(x ?? 0)) as [number, number, number, number, number, number];
  const t = m[7] ? Date.UTC(y, mo - 1, d, h, mi, s) : new Date(y, mo - 1, d, h, mi, s).getTime();
  const check = new Date(t);
  if (Number.isNaN(t) || (m[7] ? check.getUTCDate() : check.getDate()) !== d) throw new Error(`bad date ${JSON.stringify(value)}`);
  return t;
}

const looksLikeKeyType = (t: string): boolean => /^(ssh-|ecdsa-|sk-|rsa-)/.test(t) || t.endsWith('@openssh.com');

function applyOptions(signer: AllowedSigner, options: string): void {
  for (const opt of splitQuoted(options, /,/)) {
    const eq = opt.indexOf('=');
    const name = (eq === -1 ? opt : opt.slice(0, eq)).toLowerCase();
    const value = eq === -1 ? undefined : unquote(opt.slice(eq + 1));
    if (name === 'cert-authority' && value === undefined) signer.certAuthority = true;
    else if (name === 'namespaces' && value !== undefined) signer.namespaces = value.split(',').filter(Boolean);
    else if (name === 'valid-after' && value !== undefined) signer.validAfter = parseSshTime(value);
    else if (name === 'valid-before' && value !== undefined) signer.validBefore = parseSshTime(value);
    else throw new Error(`unknown option ${JSON.stringify(opt)}`);
  }
}

function parseLine(line: string, origin: string): AllowedSigner {
  const tokens = splitQuoted(line, /[ \t]/);
  const principals = unquote(tokens[0] ?? '');
  let i = 1;
  const signer: AllowedSigner = { principals: principals.split(',').filter(Boolean), certAuthority: false, keyType: '', keyBlob: Buffer.alloc(0), origin };
  if (signer.principals.length === 0) throw new Error('no principals');
  if (tokens[i] !== undefined && !looksLikeKeyType(tokens[i]!)) applyOptions(signer, tokens[i++]!);
  const keyType = tokens[i++];
  const b64 = tokens[i++];
  if (keyType === undefined || b64 === undefined) throw new Error('missing key type or key');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new Error('key is not base64');
  signer.keyType = keyType;
  signer.keyBlob = Buffer.from(b64, 'base64');
  try {
    const key = parseSshPublicKey(signer.keyBlob);
    if (key.type !== keyType) throw new Error(`key type ${keyType} does not match the key (${key.type})`);
    signer.key = key;
  } catch (err) {
    // A type we cannot verify stays listed (a signature by it is refused later); a broken key of a type we know is an error.
    if (!(err instanceof SshWireError && err.message.startsWith('unsupported SSH key type'))) throw err;
  }
  return signer;
}

/**
 * Parses git's allowed_signers text (`principals [options] keytype base64 [comment]`, `#` comments, blank
 * lines; options cert-authority, namespaces="…", valid-after=, valid-before=). Throws KeyError naming
 * `source:LINE` for any malformed line or unknown option, and when the file holds no signer at all: an
 * empty trust file must never mean "verification off".
 */
export function parseAllowedSigners(text: string, source: string): AllowedSigner[] {
  const signers: AllowedSigner[] = [];
  text.split(/\r?\n/).forEach((raw, idx) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const origin = `${source}:${idx + 1}`;
    try {
      signers.push(parseLine(line, origin));
    } catch (err) {
      throw new KeyError(`${origin}: invalid allowed_signers line: ${(err as Error).message}`, { file: source, line: idx + 1 });
    }
  });
  if (signers.length === 0) throw new KeyError(`${source} lists no signers; refusing to trust nothing`, { file: source, reason: 'empty' });
  return signers;
}
