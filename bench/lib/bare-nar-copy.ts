// A floor for `npm run bench -- nix`: the least a fresh Node process can do to place a closure's NARs. It
// copies each NAR file in the kernel (copyFile: no byte crosses into the process) or has `zstd -d` write
// it, all at once, into DEST as one file per NAR: no narinfo, signature, hash, NAR parsing, tree, rename
// or flush. Any correct fetch does all of that and more (one file per NAR member, not one per NAR), so a
// fetch of ours cannot be faster than this process on the same NARs; what is left is Node's start and the
// kernel's writing of the bytes, which `nix copy` pays too.
//
//   node bare-nar-copy.js DEST NAR[:zstd] ...
//
// Prints {"files", "bytes"} as JSON; exits 1 on an error.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const unzstd = (src: string, dest: string): Promise<unknown> => promisify(execFile)('zstd', ['-d', '-q', '-f', '-o', dest, src]);

async function main(): Promise<void> {
  const [dest, ...nars] = process.argv.slice(2);
  if (dest === undefined || nars.length === 0) throw new Error('usage: bare-nar-copy.js DEST NAR[:zstd] ...');
  await mkdir(dest, { recursive: true });
  const sizes = await Promise.all(
    nars.map(async (arg, i) => {
      const zstd = arg.endsWith(':zstd');
      const src = zstd ? arg.slice(0, -':zstd'.length) : arg;
      const out = join(dest, `${i}.nar`);
      await (zstd ? unzstd(src, out) : copyFile(src, out));
      return (await stat(out)).size;
    }),
  );
  process.stdout.write(`${JSON.stringify({ files: sizes.length, bytes: sizes.reduce((a, b) => a + b, 0) })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bare-nar-copy: ${(err as Error).message}\n`);
  process.exit(1);
});
