// The fetch benchmark's peer: the same three packages as Nix store paths with references (app → libs →
// runtime), built from the local trees (no network, no nixpkgs), signed, and published as binary caches.
import { execFile } from 'node:child_process';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NIX_FIXTURE_CONFIG } from '../../scripts/world/nix-closure.js';

const exec = promisify(execFile);

/** Environment for every nix command: the fixtures' settings (nothing asked of a daemon or the network). */
export const NIX_ENV: NodeJS.ProcessEnv = { ...process.env, NIX_CONFIG: NIX_FIXTURE_CONFIG };

// Each package copies its tree and records the store path it references in a file, so Nix finds the
// reference by scanning the output (as it does for any real package). Builders set PATH themselves.
const CLOSURE_NIX = `{ dir }:
let
  mk = name: ref: derivation {
    inherit name ref;
    system = builtins.currentSystem;
    builder = "/bin/sh";
    src = dir + "/" + name;
    args = [ "-c" "PATH=/usr/bin:/bin; cp -a \\"$src\\" \\"$out\\" && chmod u+w \\"$out\\" && echo \\"$ref\\" > \\"$out/.references\\"" ];
  };
  runtime = mk "runtime" "";
  libs = mk "libs" "\${runtime}";
in mk "app" "\${libs}"
`;

/** Two closures (v1, v2) in /nix/store, and binary caches holding both, uncompressed and zstd. */
export interface NixClosures {
  v1: string;
  v2: string;
  /** file:// URLs of the caches (their directories are `cacheDirs`). */
  caches: { none: string; zstd: string };
  cacheDirs: { none: string; zstd: string };
  /** NAME:base64, for `--option trusted-public-keys`. */
  publicKey: string;
  /** Deletes the built paths from /nix/store (best effort: another process may still hold them). */
  remove(): Promise<void>;
}

async function nix(cmd: string, args: string[]): Promise<string> {
  const { stdout } = await exec(cmd, args, { env: NIX_ENV, maxBuffer: 16 << 20 });
  return stdout.trim();
}

/** Builds v1 and v2 (`trees.v1Tree`, `trees.v2Tree` each with runtime/, libs/, app/), signs them and fills the caches under `root`. */
export async function buildNixClosures(root: string, trees: { v1Tree: string; v2Tree: string }): Promise<NixClosures> {
  // Where Nix builds as nixbld users (a system nix.conf can say so), the trees must be readable to them
  // (mkdtemp makes root 0700).
  await chmod(root, 0o755);
  const expr = join(root, 'closure.nix');
  await writeFile(expr, CLOSURE_NIX);
  // One after the other: the first Nix command on a fresh machine makes /nix/var/nix's links, and two at
  // once race there ("creating symlink from '/nix/var/nix/gcroots/profiles' … File exists", seen).
  const v1 = await nix('nix-build', ['--no-out-link', expr, '--argstr', 'dir', trees.v1Tree]);
  const v2 = await nix('nix-build', ['--no-out-link', expr, '--argstr', 'dir', trees.v2Tree]);
  const secretFile = join(root, 'nix-cache.sk');
  const publicFile = join(root, 'nix-cache.pk');
  await nix('nix-store', ['--generate-binary-cache-key', 'bench-nix-1', secretFile, publicFile]);
  const paths = [v1, v2];
  await nix('nix', ['store', 'sign', '--key-file', secretFile, '-r', ...paths]);
  const cacheDirs = { none: join(root, 'nix-cache-none'), zstd: join(root, 'nix-cache-zstd') };
  for (const [kind, dir] of Object.entries(cacheDirs)) await nix('nix', ['copy', '--to', `file://${dir}?compression=${kind}`, ...paths]);
  const all = (await nix('nix-store', ['-qR', ...paths])).split('\n');
  return {
    v1,
    v2,
    caches: { none: `file://${cacheDirs.none}`, zstd: `file://${cacheDirs.zstd}` },
    cacheDirs,
    publicKey: (await readFile(publicFile, 'utf8')).trim(),
    remove: async () => {
      // Another nix process (a GC, a build) may hold the store's locks: try again once, then say what is left.
      for (let attempt = 1; ; attempt++) {
        try {
          await exec('nix-store', ['--delete', ...all], { env: NIX_ENV });
          return;
        } catch (err) {
          if (attempt >= 2) {
            process.stderr.write(`could not delete the bench's Nix paths (${(err as Error).message.split('\n')[0]}); remove them with: nix-store --delete ${all.join(' ')}\n`);
            return;
          }
          await new Promise((r) => setTimeout(r, 2000));
        }
      }
    },
  };
}

/** Arguments of `nix copy` from `cache` into the chroot store at `dest`, checking signatures against `publicKey`. */
export function nixCopyArgs(cache: string, dest: string, path: string, publicKey: string): string[] {
  return ['copy', '--from', cache, '--to', dest, '--option', 'trusted-public-keys', publicKey, '--option', 'require-sigs', 'true', path];
}
