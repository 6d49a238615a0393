import type * as FsModule from 'node:fs';
import type * as CryptoModule from 'node:crypto';

/**
 * One local filesystem step of a fetch. Run synchronously, in order, by `runFsOps`, on the main thread for
 * small fetches or on worker threads for big ones: thousands of tiny metadata calls cost a few microseconds
 * each when synchronous, against tens through the libuv pool and a promise each.
 */
export type FsOp =
  /** Copies the regular file `src` (at most `limit` bytes) to the new file `dest`, then hashes what landed in `dest`. */
  | { op: 'place'; src: string; dest: string; limit: number }
  /** Copies `src` to the new file `dest` (a second inode, for a second mode). */
  | { op: 'copy'; src: string; dest: string }
  /** Writes `data` to the new file `dest` (mode 0600). */
  | { op: 'write'; dest: string; data: Uint8Array }
  /** Sets `mode` on `tmp`, then renames it to `dest`, creating dest's directory when missing. */
  | { op: 'commit'; tmp: string; dest: string; mode: number }
  | { op: 'mkdir'; path: string; mode: number }
  /** Hard-links `from` at `to`; copies when the inode has too many links (EMLINK). */
  | { op: 'link'; from: string; to: string }
  | { op: 'symlink'; target: string; path: string }
  | { op: 'chmod'; path: string; mode: number };

/** `place` reports the bytes read from dest (capped at limit + 1) and their sha256 hex. */
export type FsOpResult = { ok: true; bytes?: number; hex?: string } | { ok: false; code: string; message: string };

/**
 * Runs `ops` in order and stops at the first failure, which is the last result. It refers to nothing but
 * its parameters, because worker threads run it from its source text (see fs-op-runner.ts). `buf` is the
 * caller's read buffer (1 MiB or more: large reads keep sha256 near its peak).
 */
export function runFsOps(fs: typeof FsModule, crypto: typeof CryptoModule, ops: readonly FsOp[], buf: Buffer): FsOpResult[] {
  const results: FsOpResult[] = [];
  const hashInto = (path: string, limit: number): FsOpResult => {
    const fd = fs.openSync(path, 'r');
    try {
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
            // The kernel copies (copy_file_range); a file changed after the stat shows in the hash of dest.
            fs.copyFileSync(o.src, o.dest, fs.constants.COPYFILE_EXCL);
            r = hashInto(o.dest, o.limit);
          }
          break;
        }
        case 'copy':
          fs.copyFileSync(o.src, o.dest, fs.constants.COPYFILE_EXCL);
          break;
        case 'write':
          fs.writeFileSync(o.dest, o.data, { flag: 'wx', mode: 0o600 });
          break;
        case 'commit':
          fs.chmodSync(o.tmp, o.mode);
          try {
            fs.renameSync(o.tmp, o.dest);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
            fs.mkdirSync(o.dest.slice(0, o.dest.lastIndexOf('/')), { recursive: true });
            fs.renameSync(o.tmp, o.dest);
          }
          break;
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
      }
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      r = fail(typeof e.code === 'string' ? e.code : 'EIO', e.message);
    }
    results.push(r);
    if (!r.ok) break;
  }
  return results;
}
