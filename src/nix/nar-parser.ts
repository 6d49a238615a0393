// The NAR parser is written by hand on purpose: it is the one piece that turns untrusted bytes into files,
// it is small, and every rule below is a defence we must be able to point at (no library's leniency).
// Format (Nix's libutil/archive.cc): strings are a u64 LE length, the bytes, zero padding to 8.
//   nar   = "nix-archive-1" node
//   node  = "(" "type" ( "regular" ["executable" ""] "contents" STR | "symlink" "target" STR
//           | "directory" { "entry" "(" "name" STR "node" node ")" }* ) ")"
import { IntegrityError } from '../errors/index.js';
import { ByteReader } from './byte-reader.js';

/** Where the parser puts what it reads. Paths are relative, '/'-joined, '' for the root. */
export interface NarSink {
  directory(path: string): Promise<void>;
  /**
   * `contents` must be consumed fully before returning. Each chunk is valid only until the next is pulled
   * (it may be a view of a buffer the reader reuses, util/handoff.ts): copy what is kept longer.
   */
  file(path: string, executable: boolean, size: number, contents: AsyncIterable<Buffer>): Promise<void>;
  symlink(path: string, target: string): Promise<void>;
}

/** Limits that keep a hostile NAR from exhausting memory or the stack. */
export const NAR_LIMITS = { maxDepth: 256, maxName: 255, maxTarget: 4095, maxToken: 64 } as const;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A token (at most NAR_LIMITS.maxToken bytes) as a string, decoded in JavaScript: Buffer#toString is a call
 * into C++ per token, 2–3× the time for words this short, and a closure of 900 files has ~14,000 of them.
 */
const latin1 = (b: Buffer): string => String.fromCharCode.apply(null, b as unknown as number[]);

/**
 * Parses a NAR from `source`, calling `sink` for each entry in order. `what` names the store path in errors.
 * Refuses, with IntegrityError naming the path and the NAR offset: a bad magic or token, nonzero padding,
 * entry names that are empty, ".", "..", hold "/" or NUL, are not UTF-8, or are not strictly increasing
 * (sorted and unique), a node type other than regular/executable/symlink/directory, symlink targets that are
 * empty or hold NUL, nesting past NAR_LIMITS, a stream that ends early, and bytes after the archive.
 */
export async function parseNar(source: AsyncIterable<Buffer | string>, sink: NarSink, what: string): Promise<void> {
  const r = new ByteReader(source, () => new IntegrityError(`NAR of ${what} is truncated`, { storePath: what }));
  const bad = (why: string): never => {
    throw new IntegrityError(`NAR of ${what}: ${why} at byte ${r.offset}`, { storePath: what, offset: r.offset });
  };
  const lengthOf = (b: Buffer, max: number): number => {
    const n = b.readBigUInt64LE(0);
    if (n > BigInt(max)) return bad(`a length of ${n} is over the limit of ${max}`);
    return Number(n);
  };
  const readLength = (max: number): number | Promise<number> => {
    const now = r.buffered();
    if (now.length < 8) return r.read(8).then((b) => lengthOf(b, max));
    r.skip(8);
    return lengthOf(now, max);
  };
  const checkPadding = (b: Buffer): void => {
    if (b.some((x) => x !== 0)) bad('nonzero padding');
  };
  // Without waiting when the padding is buffered (undefined then), as viewNow below.
  const skipPadding = (n: number): Promise<void> | undefined => {
    const pad = (8 - (n % 8)) % 8;
    if (pad === 0) return undefined;
    const now = r.buffered();
    if (now.length >= pad) {
      r.skip(pad);
      return void checkPadding(now.subarray(0, pad));
    }
    return r.read(pad).then(checkPadding);
  };
  // A whole string read without waiting when the current chunk holds it (nearly always): a view of the
  // chunk, and no promise. Undefined, with nothing consumed, otherwise, and also for a length over `max`
  // or nonzero padding, which the waiting path below then reports at the right offset.
  const viewNow = (max: number): Buffer | undefined => {
    const b = r.buffered();
    if (b.length < 8 || b.readUInt32LE(4) !== 0) return undefined;
    const n = b.readUInt32LE(0);
    const end = 8 + n + ((8 - (n % 8)) % 8);
    if (n > max || b.length < end) return undefined;
    for (let i = 8 + n; i < end; i++) if (b[i] !== 0) return undefined;
    r.skip(end);
    return b.subarray(8, 8 + n);
  };
  // A view into the stream's chunk (or a copy of just these bytes when they straddle two): for tokens,
  // read at once and dropped. Copied when the padding lies in the next chunk: pulling it ends the views of
  // this one (NarSink: the reader may reuse its buffer).
  const readViewLater = async (max: number): Promise<Buffer> => {
    const n = await readLength(max);
    const b = await r.read(n);
    const kept = r.buffered().length < (8 - (n % 8)) % 8 ? Buffer.from(b) : b;
    await skipPadding(n);
    return kept;
  };
  const readView = (max: number): Buffer | Promise<Buffer> => viewNow(max) ?? readViewLater(max);
  // Names and targets outlive the chunk they came in (the previous name is kept for the order check):
  // copied, so a kept name does not pin a whole chunk.
  const readBytes = async (max: number): Promise<Buffer> => Buffer.from(await readView(max));
  const readToken = (): string | Promise<string> => {
    const now = viewNow(NAR_LIMITS.maxToken);
    return now !== undefined ? latin1(now) : readViewLater(NAR_LIMITS.maxToken).then(latin1);
  };
  const check = (token: string, got: string): void => {
    if (got !== token) bad(`expected ${JSON.stringify(token)}, found ${JSON.stringify(got)}`);
  };
  const expect = (token: string): Promise<void> | undefined => {
    const got = readToken();
    if (typeof got === 'string') return void check(token, got);
    return got.then((g) => check(token, g));
  };

  const parseRegular = async (path: string): Promise<void> => {
    let tag = await readToken();
    let executable = false;
    if (tag === 'executable') {
      if ((await readView(0)).length !== 0) bad('"executable" must be followed by an empty string');
      executable = true;
      tag = await readToken();
    }
    if (tag !== 'contents') bad(`expected "contents", found ${JSON.stringify(tag)}`);
    const size = await readLength(Number.MAX_SAFE_INTEGER);
    await sink.file(path, executable, size, r.chunks(size));
    await skipPadding(size);
    await expect(')');
  };

  const parseSymlink = async (path: string): Promise<void> => {
    await expect('target');
    const raw = await readBytes(NAR_LIMITS.maxTarget);
    if (raw.length === 0 || raw.includes(0)) bad(`symlink ${path} has an empty target or one holding NUL`);
    let target: string;
    try {
      target = utf8.decode(raw);
    } catch {
      return bad(`symlink ${path} has a target that is not UTF-8`);
    }
    await sink.symlink(path, target);
    await expect(')');
  };

  const parseDirectory = async (path: string, depth: number): Promise<void> => {
    await sink.directory(path);
    let previous: Buffer | undefined;
    for (;;) {
      const tag = await readToken();
      if (tag === ')') return;
      if (tag !== 'entry') bad(`expected "entry" or ")", found ${JSON.stringify(tag)}`);
      await expect('(');
      await expect('name');
      const raw = await readBytes(NAR_LIMITS.maxName);
      const name = checkName(raw, previous, path, bad);
      previous = raw;
      await expect('node');
      await parseNode(path === '' ? name : `${path}/${name}`, depth + 1);
      await expect(')');
    }
  };

  const parseNode = async (path: string, depth: number): Promise<void> => {
    if (depth > NAR_LIMITS.maxDepth) bad(`directories nest deeper than ${NAR_LIMITS.maxDepth}`);
    await expect('(');
    await expect('type');
    const type = await readToken();
    if (type === 'regular') return parseRegular(path);
    if (type === 'symlink') return parseSymlink(path);
    if (type === 'directory') return parseDirectory(path, depth);
    return bad(`entry ${JSON.stringify(path)} has type ${JSON.stringify(type)}; only regular, symlink and directory are allowed`);
  };

  await expect('nix-archive-1');
  await parseNode('', 0);
  if (!(await r.atEnd())) bad('bytes follow the end of the archive');
}

function checkName(raw: Buffer, previous: Buffer | undefined, dir: string, bad: (why: string) => never): string {
  const where = dir === '' ? 'the top directory' : JSON.stringify(dir);
  if (raw.length === 0) return bad(`an empty entry name in ${where}`);
  if (raw.includes(0) || raw.includes(0x2f)) return bad(`an entry name in ${where} holds "/" or NUL`);
  let name: string;
  try {
    name = utf8.decode(raw);
  } catch {
    return bad(`an entry name in ${where} is not UTF-8`);
  }
  if (name === '.' || name === '..') return bad(`an entry named ${JSON.stringify(name)} in ${where}`);
  if (previous !== undefined && Buffer.compare(previous, raw) >= 0) {
    return bad(`entry ${JSON.stringify(name)} in ${where} is not after ${JSON.stringify(previous.toString('utf8'))} (names must be sorted and unique)`);
  }
  return name;
}
