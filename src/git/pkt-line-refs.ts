// A strict reader of the smart-HTTP ref advertisement (GET info/refs?service=git-upload-pack, protocol v0/v1),
// as git's http-protocol and pack-protocol documents define it:
//   PKT-LINE("# service=git-upload-pack" LF) flush-pkt
//   [PKT-LINE("version 1" LF)]
//   (PKT-LINE(oid SP name NUL caps LF) *PKT-LINE(oid SP name LF)) | PKT-LINE(zero-id SP "capabilities^{}" NUL caps LF)
//   flush-pkt
// Anything else (protocol v2, a dumb server's text, trailing bytes, a bad oid) is refused: the caller then
// runs a full tick instead of trusting a guess.
import { GitError } from '../errors/index.js';

/** Largest pkt-line git allows (65520 bytes, length prefix included). */
export const MAX_PKT_LEN = 65520;

const OID = /^[0-9a-f]{40}$/;
const ZERO_OID = '0'.repeat(40);
const decoder = new TextDecoder('utf-8', { fatal: true });

function refuse(why: string, offset?: number): never {
  const where = offset === undefined ? '' : ` (at byte ${offset})`;
  throw new GitError(`ref advertisement refused: ${why}${where}`, offset === undefined ? {} : { offset });
}

/** Splits `bytes` into pkt-line payloads; `null` stands for a flush-pkt. Throws GitError on bad framing. */
export function splitPktLines(bytes: Uint8Array): Array<Uint8Array | null> {
  const out: Array<Uint8Array | null> = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 4 > bytes.length) refuse('truncated length prefix', at);
    const head = String.fromCharCode(...bytes.subarray(at, at + 4));
    if (!/^[0-9a-f]{4}$/.test(head)) refuse(`length prefix ${JSON.stringify(head)} is not 4 lowercase hex digits`, at);
    const len = parseInt(head, 16);
    if (len === 0) {
      out.push(null);
      at += 4;
      continue;
    }
    // 0001 (delim) and 0002 (response-end) belong to protocol v2; 0003 cannot carry a payload.
    if (len < 5) refuse(`special packet ${head} is not part of protocol v0`, at);
    if (len > MAX_PKT_LEN) refuse(`packet of ${len} bytes exceeds ${MAX_PKT_LEN}`, at);
    if (at + len > bytes.length) refuse('truncated packet', at);
    out.push(bytes.subarray(at + 4, at + len));
    at += len;
  }
  return out;
}

function text(payload: Uint8Array): string {
  try {
    const s = decoder.decode(payload);
    return s.endsWith('\n') ? s.slice(0, -1) : s;
  } catch {
    return refuse('packet is not UTF-8');
  }
}

/**
 * Parses a complete upload-pack advertisement into ref name → oid (peeled `^{}` entries are skipped; an
 * empty repository gives an empty map). Throws GitError naming what is wrong for anything that is not
 * exactly that shape, including protocol v2 answers and bytes after the closing flush-pkt.
 */
export function parseRefAdvertisement(bytes: Uint8Array): Map<string, string> {
  const pkts = splitPktLines(bytes);
  if (pkts.length < 3) refuse('too short to be an advertisement');
  const first = pkts[0];
  if (first === null || first === undefined || text(first) !== '# service=git-upload-pack') refuse('missing "# service=git-upload-pack" header');
  if (pkts[1] !== null) refuse('no flush-pkt after the service header');
  if (pkts[pkts.length - 1] !== null) refuse('no closing flush-pkt');
  let lines = pkts.slice(2, -1);
  if (lines.some((l) => l === null)) refuse('flush-pkt inside the ref list');
  const payloads = lines as Uint8Array[];
  if (payloads.length > 0 && text(payloads[0]!) === 'version 1') lines = payloads.slice(1);
  else if (payloads.length > 0 && text(payloads[0]!).startsWith('version ')) refuse(`unsupported ${text(payloads[0]!)}`);
  const refs = new Map<string, string>();
  (lines as Uint8Array[]).forEach((payload, i) => {
    let line = text(payload);
    const nul = line.indexOf('\0');
    if (i === 0) {
      if (nul < 0) refuse('first ref line carries no capabilities');
      line = line.slice(0, nul);
    } else if (nul >= 0) {
      refuse('NUL in a ref line after the first');
    }
    const space = line.indexOf(' ');
    const oid = line.slice(0, space);
    const name = line.slice(space + 1);
    if (space < 0 || !OID.test(oid)) refuse(`bad object id in ${JSON.stringify(line.slice(0, 80))}`);
    if (name === '' || /[\s\0]/.test(name)) refuse(`bad ref name ${JSON.stringify(name.slice(0, 80))}`);
    if (i === 0 && oid === ZERO_OID && name === 'capabilities^{}') {
      if (lines.length !== 1) refuse('"capabilities^{}" beside other refs');
      return;
    }
    if (name.endsWith('^{}')) return;
    if (refs.has(name)) refuse(`ref ${name} advertised twice`);
    refs.set(name, oid);
  });
  return refs;
}
