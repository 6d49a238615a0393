// Git protocol v2's `ls-refs` command over smart HTTP (git's protocol-v2 document): one POST to
// git-upload-pack with `Git-Protocol: version=2`, asking only for refs under a prefix, so the answer does
// not grow with the repository's other branches and tags. No capability advertisement is fetched first:
// v2 over HTTP is stateless, and a server without v2 answers in a way `parseLsRefsResult` refuses.
import { GitError } from '../errors/index.js';
import { splitPktLines } from './pkt-line-refs.js';

const OID = /^[0-9a-f]{40}$/;
const decoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

function pkt(line: string): string {
  const len = encoder.encode(line).length + 4;
  return `${len.toString(16).padStart(4, '0')}${line}`;
}

/** The request body of `ls-refs` restricted to refs starting with `prefix` (command, delim, argument, flush). */
export function lsRefsRequest(prefix: string): Uint8Array {
  if (/[\s\0]/.test(prefix)) throw new GitError(`ref prefix ${JSON.stringify(prefix)} contains whitespace or NUL`);
  return encoder.encode(`${pkt('command=ls-refs\n')}0001${pkt(`ref-prefix ${prefix}\n`)}0000`);
}

function refuse(why: string): never {
  throw new GitError(`ls-refs answer refused: ${why}`);
}

/**
 * Parses an `ls-refs` answer (`oid SP name *(SP attribute) LF` lines, then a flush-pkt) into ref name → oid.
 * Throws GitError for anything else, including an empty body (what a server without protocol v2 sends).
 */
export function parseLsRefsResult(bytes: Uint8Array): Map<string, string> {
  const pkts = splitPktLines(bytes);
  if (pkts.length === 0 || pkts[pkts.length - 1] !== null) refuse('no closing flush-pkt');
  const refs = new Map<string, string>();
  for (const payload of pkts.slice(0, -1)) {
    if (payload === null) refuse('flush-pkt inside the ref list');
    let line: string;
    try {
      line = decoder.decode(payload);
    } catch {
      return refuse('packet is not UTF-8');
    }
    if (!line.endsWith('\n')) refuse('ref line without LF');
    const [oid, name] = line.slice(0, -1).split(' ');
    if (oid === undefined || !OID.test(oid)) refuse(`bad object id in ${JSON.stringify(line.slice(0, 80))}`);
    if (name === undefined || name === '' || /[\t\0]/.test(name)) refuse(`bad ref name in ${JSON.stringify(line.slice(0, 80))}`);
    if (refs.has(name)) refuse(`ref ${name} listed twice`);
    refs.set(name, oid);
  }
  return refs;
}
