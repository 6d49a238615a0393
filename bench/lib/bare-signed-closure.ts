// The least a verifying fetch must do before its first object GET, for the bare floor (bare-fetch.ts):
// read the closure's signed root and every manifest it reaches, over raw connections, each checked the
// least way that still authenticates it. The root's bytes and its signature are asked for at once; the
// signature (ed25519 over the digest and size, as src/trust/manifest-signature.ts signs it) must hold
// before anything else is asked; each manifest must hash to the digest that named it, and its references
// are asked for as soon as it parsed. No tree rules, no canonical form, no cache, no pack hint: what
// `flotilla fetch` does beyond this is its own choice, this is what no verifying fetch can skip. Only node
// built-ins, so the floor's start stays bare Node's.
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { connect } from 'node:net';
import { okBodyLength } from './bare-fetch-lane.js';

/** The closure to read: its root digest (`sha256:<hex>`) and the trusted key (`name:base64`, as `--trust`). */
export interface BareSigned {
  root: string;
  key: string;
}
/** What was read: the manifests and their bytes. */
export interface BareClosureTally {
  manifests: number;
  bytes: number;
}

/** A stalled server fails the floor rather than hanging the benchmark. */
const IDLE_MS = 30_000;
// An Ed25519 public key's DER SubjectPublicKeyInfo is this fixed prefix and the 32 raw bytes (RFC 8410).
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const DIGEST = /^sha256:([0-9a-f]{64})$/;

function hexOf(digest: unknown, what: string): string {
  const hex = typeof digest === 'string' ? DIGEST.exec(digest)?.[1] : undefined;
  if (hex === undefined) throw new Error(`${what}: not a sha256 digest: ${JSON.stringify(digest)}`);
  return hex;
}

function publicKey(spec: string): { name: string; key: KeyObject } {
  const colon = spec.indexOf(':');
  const raw = Buffer.from(spec.slice(colon + 1), 'base64');
  if (colon <= 0 || raw.length !== 32) throw new Error(`key ${JSON.stringify(spec)}: want name:base64 of 32 bytes`);
  return { name: spec.slice(0, colon), key: createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' }) };
}

/** GETs `key` on a connection of its own and returns the body of a 200 with a Content-Length. */
function getBody(base: URL, key: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: base.hostname, port: Number(base.port || 80) });
    const fail = (why: string): void => {
      socket.destroy();
      reject(new Error(`GET ${key}: ${why}`));
    };
    socket.setTimeout(IDLE_MS, () => fail(`no data for ${IDLE_MS} ms`));
    socket.once('connect', () => socket.write(`GET ${new URL(key, base).pathname} HTTP/1.1\r\nHost: ${base.host}\r\nConnection: close\r\n\r\n`));
    socket.on('data', (b: Buffer) => chunks.push(b));
    socket.once('error', (err) => fail(err.message));
    socket.once('end', () => {
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      const head = end < 0 ? '' : all.subarray(0, end).toString('latin1');
      const length = okBodyLength(head);
      const body = all.subarray(end + 4);
      if (length === undefined) fail(head.split('\r\n')[0] || 'no response');
      else if (body.length !== length) fail(`${body.length} bytes, Content-Length ${length}`);
      else resolve(body);
    });
  });
}

const objectKeyOf = (hex: string): string => `objects/sha256/${hex.slice(0, 2)}/${hex}`;

/** Reads and authenticates the closure of `signed.root` from the store served at `base`; throws naming what failed. */
export async function readSignedClosure(base: URL, signed: BareSigned): Promise<BareClosureTally> {
  const rootHex = hexOf(signed.root, 'root');
  const { name, key } = publicKey(signed.key);
  const tally: BareClosureTally = { manifests: 0, bytes: 0 };
  const seen = new Set<string>([rootHex]);
  // A manifest's bytes, checked against the digest that named them, then its references, read at once.
  const take = async (hex: string, bytes: Buffer): Promise<void> => {
    if (createHash('sha256').update(bytes).digest('hex') !== hex) throw new Error(`manifest sha256:${hex}: its bytes hash to something else`);
    tally.manifests++;
    tally.bytes += bytes.length;
    const refs = (JSON.parse(bytes.toString('utf8')) as { references?: unknown }).references;
    if (!Array.isArray(refs)) throw new Error(`manifest sha256:${hex}: no references list`);
    const fresh: string[] = [];
    for (const r of refs.map((ref) => hexOf(ref, `a reference of sha256:${hex}`))) {
      if (seen.has(r)) continue;
      seen.add(r);
      fresh.push(r);
    }
    await Promise.all(fresh.map(async (r) => take(r, await getBody(base, objectKeyOf(r)))));
  };
  const [rootBytes, sig] = await Promise.all([getBody(base, objectKeyOf(rootHex)), getBody(base, `signatures/sha256/${rootHex}/${name}`)]);
  const message = Buffer.from(`flotilla-manifest-v1;sha256:${rootHex};${rootBytes.length}`, 'utf8');
  if (!verify(null, message, key, Buffer.from(sig.toString('utf8').trim(), 'base64'))) throw new Error(`root sha256:${rootHex}: no valid signature by ${name}`);
  await take(rootHex, rootBytes);
  return tally;
}
