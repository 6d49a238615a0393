import type * as FsModule from 'node:fs';
import type * as CryptoModule from 'node:crypto';

/**
 * The block a direct (O_DIRECT) write starts, ends and sits in memory on, and the size from which `write`
 * and `writeAt` write a file's blocks directly. Callers that gather files into shared memory for them
 * (pack-splitter.ts, nar-file-writer.ts) place such a file on a block boundary, so its blocks go to the
 * disk from where they lie. runFsOps repeats both values: a worker runs it from its source text.
 */
export const DIRECT_BLOCK = 4096;
export const DIRECT_FROM = 64 * 1024;
/** `n` rounded up to a whole DIRECT_BLOCK. */
export const alignToBlock = (n: number): number => Math.ceil(n / DIRECT_BLOCK) * DIRECT_BLOCK;

/**
 * One local filesystem step of a fetch. Run synchronously, in order, by `runFsOps`, on the main thread for
 * small fetches or on worker threads for big ones: thousands of tiny metadata calls cost a few microseconds
 * each when synchronous, against tens through the libuv pool and a promise each.
 */
export type FsOp =
  /**
   * Puts the regular file `src` (at most `limit` bytes) at the new name `dest`, mode 0444, then hashes what
   * `dest` holds. With `linkOwner`, an inode that already is read-only (0444) and owned by that uid (ours) is
   * hard-linked instead of copied: only that uid and root could change it, and they can change our state
   * directory anyway. Anything else is copied.
   */
  | { op: 'place'; src: string; dest: string; limit: number; linkOwner?: number }
  /** Copies `src` to the new file `dest` (a second inode, for a second mode). */
  | { op: 'copy'; src: string; dest: string }
  /**
   * Writes `data` to the new file `dest`, created with `mode` (default 0600; less the umask). With `mtime`
   * (a Nix store file's), the file gets exactly `mode`, whatever the umask, and that mtime and atime.
   */
  | { op: 'write'; dest: string; data: Uint8Array; mode?: number; mtime?: number }
  /**
   * Writes `data` at byte `pos` of `path`: with `create`, a new file (never over an existing name), else an
   * existing one, opened without following a symlink. For a file written in pieces, each piece sent once
   * the one before it is done, `last` false on all but the final one: the file is created 0600, so that
   * its owner can open it again, and gets `mode` with its last piece (a file written whole, with `create`
   * and `last`, may be created with it).
   */
  | { op: 'writeAt'; path: string; data: Uint8Array; pos: number; create: boolean; mode: number; last?: boolean }
  /**
   * Sets `mode` on `tmp` when given (leave it out for a temp created with its final mode), then renames it
   * to `dest`, creating dest's directory when missing.
   */
  | { op: 'commit'; tmp: string; dest: string; mode?: number }
  /**
   * Gives the verified, flushed file `from` (an object written straight into a package tree) a second name,
   * the cache's `dest`: sets `mode` first when given, then link(2), creating dest's directory when missing.
   * A link of a complete file is atomic, so the cache name never shows partial bytes and needs no temp. A
   * name already there (only a wrong one: the cache lacked this object at that size) is replaced through
   * the temp name `tmp` and a rename; an inode at its link cap is left out of the cache (a later fetch
   * fetches it again).
   */
  | { op: 'adopt'; from: string; dest: string; tmp: string; mode?: number }
  | { op: 'mkdir'; path: string; mode: number }
  /** Hard-links `from` at `to`; copies when the inode has too many links (EMLINK). */
  | { op: 'link'; from: string; to: string }
  | { op: 'symlink'; target: string; path: string }
  | { op: 'chmod'; path: string; mode: number }
  /** The size of the regular file `path` (ENOENT for anything else). */
  | { op: 'size'; path: string };

/**
 * `place` reports the bytes read from dest (capped at limit + 1), their sha256 hex and whether it linked;
 * `size` reports the file's size as `bytes`.
 */
export type FsOpResult = { ok: true; bytes?: number; hex?: string; linked?: boolean } | { ok: false; code: string; message: string };

/**
 * Runs `ops` in order and stops at the first failure, which is the last result (with `keepGoing`, runs
 * every step and reports each: for independent steps). It refers to nothing but
 * its parameters, because worker threads run it from its source text (see fs-op-runner.ts). `buf` is the
 * caller's read buffer (1 MiB or more: large reads keep sha256 near its peak). `aligned`, page-aligned
 * memory, lets `write` and `writeAt` put large data straight on the disk (O_DIRECT); without it they write
 * through the page cache.
 */
export function runFsOps(fs: typeof FsModule, crypto: typeof CryptoModule, ops: readonly FsOp[], buf: Buffer, keepGoing = false, aligned?: Buffer): FsOpResult[] {
  const results: FsOpResult[] = [];
  const writeAll = (fd: number, path: string, data: Uint8Array, from: number, pos: number): void => {
    for (let done = from; done < data.length; ) {
      const n = fs.writeSync(fd, data, done, data.length - done, pos + done);
      if (n === 0) throw Object.assign(new Error(`write to ${path} wrote nothing`), { code: 'EIO' });
      done += n;
    }
  };
  // A write of DIRECT_FROM bytes or more (a file, or a large file's piece) has its whole 4 KiB blocks
  // written with O_DIRECT (from where they lie, or copied into `aligned`, page-aligned memory): its bytes
  // must reach the disk before any rename anyway, and going through fresh page-cache pages first cost a
  // cold fetch over HTTP 0.13 s (docs/performance.md, "Large files straight to the disk"). From 64 KiB:
  // 16 KiB and 256 KiB did worse. The same idea as src/nix/direct-writer.ts, and the values of DIRECT_BLOCK
  // and DIRECT_FROM above, written again here because a worker runs this function from its source text.
  const ALIGN = 4096;
  const DIRECT_FROM = 64 * 1024;
  const goesDirect = (data: Uint8Array): boolean => aligned !== undefined && fs.constants.O_DIRECT !== undefined && data.length >= DIRECT_FROM;
  /**
   * Writes `data` at `pos` of `path` (a new file with `create`), through writeData. The file is created
   * with `mode` when `modeAtCreate`, else 0600: a file its owner opens again (a direct twin, the next
   * piece) must stay writable to it, since a 0444 file can be opened for writing only by root; it then
   * gets `mode` once `last` is written (and with `mtime`, exactly `mode` and that mtime, as `write` says).
   */
  const putData = (path: string, data: Uint8Array, pos: number, create: boolean, mode: number, modeAtCreate: boolean, last: boolean, mtime?: number): void => {
    const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
    const fd = fs.openSync(path, O_WRONLY | O_NOFOLLOW | (create ? O_CREAT | O_EXCL : 0), modeAtCreate ? mode : 0o600);
    try {
      writeData(fd, path, data, pos);
      if (last && (!modeAtCreate || mtime !== undefined)) fs.fchmodSync(fd, mode);
      if (mtime !== undefined) fs.futimesSync(fd, mtime, mtime);
    } finally {
      fs.closeSync(fd);
    }
  };
  /**
   * Writes `data` at `pos` of `path`, open as `fd`: the edges through fd, the blocks between them through a
   * second descriptor opened with O_DIRECT where the filesystem allows it. A direct write refused with
   * EINVAL (stricter alignment rules) leaves the rest to fd.
   */
  const writeData = (fd: number, path: string, data: Uint8Array, pos: number): void => {
    const O_DIRECT = fs.constants.O_DIRECT;
    const head = (ALIGN - (pos % ALIGN)) % ALIGN;
    const blocks = Math.floor((data.length - head) / ALIGN) * ALIGN;
    let done = 0;
    if (aligned !== undefined && O_DIRECT !== undefined && goesDirect(data) && blocks > 0) {
      let dfd: number | undefined;
      try {
        dfd = fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW | O_DIRECT);
      } catch {
        dfd = undefined;
      }
      if (dfd !== undefined) {
        try {
          writeAll(fd, path, data.subarray(0, head), 0, pos);
          let off = head;
          // Data whose blocks already sit on page boundaries of shared memory (a pack's gather buffer
          // places its objects so, pack-splitter.ts) goes to the disk from where it is, in one write; a
          // refusal (EINVAL: memory not page-aligned after all) and any other data are copied through
          // `aligned`. Unshared data reached this thread as a copy, in memory V8 did not page-align.
          let inPlace = data.buffer instanceof SharedArrayBuffer && (data.byteOffset + head) % ALIGN === 0;
          try {
            while (off < head + blocks) {
              const n = inPlace ? head + blocks - off : Math.min(aligned.length, head + blocks - off);
              let w: number;
              if (inPlace) {
                try {
                  w = fs.writeSync(dfd, data, off, n, pos + off);
                } catch (err) {
                  if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
                  inPlace = false;
                  continue;
                }
              } else {
                aligned.set(data.subarray(off, off + n));
                w = fs.writeSync(dfd, aligned, 0, n, pos + off);
              }
              if (w !== n) break;
              off += n;
            }
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
          }
          done = off;
        } finally {
          fs.closeSync(dfd);
        }
      }
    }
    writeAll(fd, path, data, done, pos);
  };
  const owned = (st: FsModule.Stats, owner: number | undefined): boolean => st.uid === owner && (st.mode & 0o7777) === 0o444;
  // Hashes `path`, or returns undefined when `owner` is given and the inode is not (or no longer) owned
  // read-only by that uid: checked on the open file, so the answer belongs to the bytes hashed.
  const hashInto = (path: string, limit: number, owner?: number): { ok: true; bytes: number; hex: string } | undefined => {
    const fd = fs.openSync(path, 'r');
    try {
      if (owner !== undefined && !owned(fs.fstatSync(fd), owner)) return undefined;
      const h = crypto.createHash('sha256');
      let bytes = 0;
      while (bytes <= limit) {
        const n = fs.readSync(fd, buf, 0, Math.min(buf.length, limit + 1 - bytes), null);
        if (n === 0) break;
        h.update(buf.subarray(0, n));
        bytes += n;
      }
      return { ok: true, bytes, hex: h.digest('hex') };
    } finally {
      fs.closeSync(fd);
    }
  };
  const fail = (code: string, message: string): FsOpResult => ({ ok: false, code, message });
  for (const o of ops) {
    let r: FsOpResult = { ok: true };
    try {
      switch (o.op) {
        case 'place': {
          const st = fs.statSync(o.src);
          if (!st.isFile()) r = fail('ENOENT', `${o.src} is not a regular file`);
          else if (st.size > o.limit) r = fail('EFBIG', `${o.src} is ${st.size} bytes, over the limit of ${o.limit}`);
          else {
            let linked: { ok: true; bytes: number; hex: string } | undefined;
            if (o.linkOwner !== undefined && owned(st, o.linkOwner)) {
              try {
                fs.linkSync(o.src, o.dest);
                linked = hashInto(o.dest, o.limit, o.linkOwner);
                if (linked === undefined) fs.unlinkSync(o.dest);
              } catch (err) {
                // Another filesystem (EXDEV), a link count at its cap, a refusal: copy instead.
                if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw err;
              }
            }
            // The kernel copies (copy_file_range); a file changed after the stat shows in the hash of dest.
            if (linked === undefined) {
              fs.copyFileSync(o.src, o.dest, fs.constants.COPYFILE_EXCL);
              // The copy has the source's mode: a store's objects are 0444 already, so this is rare.
              if ((st.mode & 0o7777) !== 0o444) fs.chmodSync(o.dest, 0o444);
            }
            r = linked === undefined ? (hashInto(o.dest, o.limit) ?? fail('EIO', `${o.dest}: not hashed`)) : { ...linked, linked: true };
          }
          break;
        }
        case 'copy':
          fs.copyFileSync(o.src, o.dest, fs.constants.COPYFILE_EXCL);
          break;
        case 'writeAt': {
          const last = o.last ?? true;
          putData(o.path, o.data, o.pos, o.create, o.mode, o.create && last && !goesDirect(o.data), last);
          break;
        }
        case 'write': {
          const mode = o.mode ?? 0o600;
          putData(o.dest, o.data, 0, true, mode, !goesDirect(o.data), true, o.mtime);
          break;
        }
        case 'commit':
          if (o.mode !== undefined) fs.chmodSync(o.tmp, o.mode);
          try {
            fs.renameSync(o.tmp, o.dest);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
            fs.mkdirSync(o.dest.slice(0, o.dest.lastIndexOf('/')), { recursive: true });
            fs.renameSync(o.tmp, o.dest);
          }
          break;
        case 'adopt': {
          if (o.mode !== undefined) fs.chmodSync(o.from, o.mode);
          const linkIn = (): void => {
            try {
              fs.linkSync(o.from, o.dest);
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
              fs.linkSync(o.from, o.tmp);
              fs.renameSync(o.tmp, o.dest);
            }
          };
          try {
            linkIn();
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            if (code === 'ENOENT') {
              fs.mkdirSync(o.dest.slice(0, o.dest.lastIndexOf('/')), { recursive: true });
              linkIn();
            } else if (code !== 'EMLINK') throw err;
          }
          break;
        }
        case 'mkdir':
          fs.mkdirSync(o.path, { mode: o.mode });
          break;
        case 'link':
          try {
            fs.linkSync(o.from, o.to);
          } catch (err) {
            // ext4 caps an inode at 65,000 links: an object linked from very many places gets a copy.
            if ((err as NodeJS.ErrnoException).code !== 'EMLINK') throw err;
            fs.copyFileSync(o.from, o.to, fs.constants.COPYFILE_EXCL);
          }
          break;
        case 'symlink':
          fs.symlinkSync(o.target, o.path);
          break;
        case 'chmod':
          fs.chmodSync(o.path, o.mode);
          break;
        case 'size': {
          const st = fs.statSync(o.path);
          r = st.isFile() ? { ok: true, bytes: st.size } : fail('ENOENT', `${o.path} is not a regular file`);
          break;
        }
      }
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      r = fail(typeof e.code === 'string' ? e.code : 'EIO', e.message);
    }
    results.push(r);
    if (!r.ok && !keepGoing) break;
  }
  return results;
}
