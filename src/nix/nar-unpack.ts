import { constants } from 'node:fs';
import { chmod, lutimes, mkdir, open, symlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { IntegrityError } from '../errors/index.js';
import type { NarSink } from './nar-parser.js';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;
/** Nix's canonical store metadata: mtime 1, no write bits. */
const CANONICAL_MTIME = 1;

/**
 * A NarSink that creates the archive at `dest` (a fresh name that must not exist). Every entry is created
 * exclusively (mkdir, O_CREAT|O_EXCL|O_NOFOLLOW, symlink all fail on an existing name) under directories
 * this sink made itself, and names were checked by the parser (no "/", ".", ".."): so nothing is ever written
 * through an existing path or a symlink, whatever a symlink's target says. Symlinks are stored as-is (Nix
 * allows targets outside the path) and never followed. Call `finish()` after a complete parse to apply
 * Nix's read-only permissions and mtime 1, deepest first.
 */
export function createUnpackSink(dest: string, what: string): NarSink & { finish(): Promise<void>; files: string[] } {
  const dirs: string[] = [];
  const links: string[] = [];
  const at = (rel: string): string => (rel === '' ? dest : join(dest, rel));
  const sink = {
    files: [] as string[],
    async directory(rel: string): Promise<void> {
      await mkdir(at(rel), { mode: 0o700 });
      dirs.push(at(rel));
    },
    async file(rel: string, executable: boolean, size: number, contents: AsyncIterable<Buffer>): Promise<void> {
      const fh = await open(at(rel), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
      let written = 0;
      try {
        for await (const chunk of contents) {
          let off = 0;
          while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
          written += chunk.length;
        }
        if (written !== size) throw new IntegrityError(`NAR of ${what}: ${rel} is short`, { storePath: what });
        await fh.chmod(executable ? 0o555 : 0o444);
        await fh.utimes(CANONICAL_MTIME, CANONICAL_MTIME);
      } finally {
        await fh.close();
      }
      sink.files.push(at(rel));
    },
    async symlink(rel: string, target: string): Promise<void> {
      await symlink(target, at(rel));
      links.push(at(rel));
    },
    async finish(): Promise<void> {
      for (const l of links) await lutimes(l, CANONICAL_MTIME, CANONICAL_MTIME);
      for (const d of [...dirs].reverse()) {
        await chmod(d, 0o555);
        await utimes(d, CANONICAL_MTIME, CANONICAL_MTIME);
      }
    },
  };
  return sink;
}
