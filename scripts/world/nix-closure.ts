// Real Nix closures for tests and benchmarks: built with nix-build from a generated expression (no network,
// /bin/sh builders), signed with a fresh `nix key`, published with `nix copy --to file://…` in any
// compression. Every build carries a random marker so each test gets its own store paths.
import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { narInfoFingerprint, parseNarInfo, parseStorePath } from '../../src/nix/index.js';
import { runTool } from './tools.js';

/** One library path of a fixture closure. `blobBytes` adds one file of that size (base64 of random bytes). */
export interface NixLibSpec {
  name: string;
  blobBytes?: number;
  /** Small files under share/ (default 3). */
  files?: number;
  /** Changes this path's contents (and so its hash) without touching the other libs. */
  marker?: string;
  /** Writes the path's own store path into lib/self, so its References list itself (as most real outputs' do). */
  selfReference?: boolean;
}

/** A built, signed closure: `top` (the app) refers to every lib; `paths` is the whole closure, sorted. */
export interface NixClosureFixture {
  top: string;
  libs: string[];
  paths: string[];
  /** `name:base64` public key, as flotilla.yaml pins it. */
  publicKey: string;
  secretKeyFile: string;
  dir: string;
}

export type NixCompressionName = 'none' | 'xz' | 'zstd' | 'bzip2' | 'gzip';

/**
 * Nix's settings in fixtures and benchmarks. Debian's nix-bin builds as `nixbld` users in a sandbox by
 * default, but its group and users come with nix-setup-systemd, which `--no-install-recommends` leaves out,
 * and its sandbox has no /bin/sh: so fixture builders (our own /bin/sh scripts over local files) run as
 * the caller, unsandboxed. No substituters: tests have no network, and cache.nixos.org costs every build
 * seconds of retries.
 */
export const NIX_FIXTURE_CONFIG = ['experimental-features = nix-command', 'build-users-group =', 'sandbox = false', 'substituters ='].join('\n');

/** The environment Nix runs with in fixtures: NIX_FIXTURE_CONFIG, a private HOME for its caches. */
export function nixEnv(dir: string): Record<string, string> {
  return { NIX_CONFIG: NIX_FIXTURE_CONFIG, HOME: dir, XDG_CACHE_HOME: join(dir, '.cache') };
}

const sh = (s: string): string => JSON.stringify(s).replaceAll('${', '\\${');

function libExpr(spec: NixLibSpec, salt: string): string {
  const files = spec.files ?? 3;
  const self = spec.selfReference === true ? 'echo $out > $out/lib/self; ' : '';
  const blob = spec.blobBytes === undefined ? '' : `head -c ${Math.ceil((spec.blobBytes * 3) / 4)} /dev/urandom | base64 -w 0 | head -c ${spec.blobBytes} > $out/lib/blob; `;
  const script =
    `PATH=/usr/bin:/bin; mkdir -p $out/lib $out/share/doc; echo ${salt}-${spec.marker ?? ''} > $out/lib/greeting; ` +
    `ln -s greeting $out/lib/link; ln -s /etc/passwd $out/lib/escaping-link; ` +
    `i=0; while [ $i -lt ${files} ]; do echo "file $i ${salt}" > $out/share/doc/f$i; i=$((i+1)); done; ${self}${blob}`;
  return `derivation { name = ${sh(spec.name)}; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" ${sh(script)} ]; }`;
}

/**
 * Builds a closure in `dir` with real Nix: one derivation per lib and an app (`bin/app`, executable) whose
 * script names every lib's store path, so References link them. Signs the closure with a fresh key
 * (`k1-<random>`) unless `key` is given. Takes a few seconds; `salt` (default random) makes the paths unique to the caller.
 * `appBin` adds executables to the app's bin/ (name → contents), e.g. an `activate` and a `health` script.
 */
export async function buildNixClosure(
  dir: string,
  libs: NixLibSpec[] = [{ name: 'flotilla-lib' }],
  salt = randomBytes(8).toString('hex'),
  key?: { secretKeyFile: string; publicKey: string },
  appBin: Record<string, string> = {},
): Promise<NixClosureFixture> {
  const env = nixEnv(dir);
  const attr = (i: number): string => `lib${String(i).padStart(3, '0')}`;
  const lets = libs.map((l, i) => `${attr(i)} = ${libExpr(l, salt)};`).join('\n  ');
  const refs = libs.map((_, i) => `\${${attr(i)}}`).join(' ');
  const bins = Object.keys(appBin).map((name, i) => `printf '%s' "$bin${i}" > $out/bin/${name}; chmod +x $out/bin/${name}; `).join('');
  const binAttrs = Object.values(appBin).map((text, i) => `bin${i} = ${sh(text)}; `).join('');
  const app =
    `PATH=/usr/bin:/bin; mkdir -p $out/bin; printf '#!/bin/sh\\necho ${salt}; ls %s\\n' '${refs}' > $out/bin/app; chmod +x $out/bin/app; ${bins}`;
  const expr = `let\n  ${lets}\nin {\n  app = derivation { name = "flotilla-app"; system = builtins.currentSystem; builder = "/bin/sh"; ${binAttrs}args = [ "-c" ${JSON.stringify(app)} ]; };\n  ${libs.map((_, i) => `${attr(i)} = ${attr(i)};`).join(' ')}\n}\n`;
  const file = join(dir, 'closure.nix');
  await writeFile(file, expr);
  const out = (await runTool('nix-build', [file, '--no-out-link'], { env })).trim().split('\n');
  // nix-build prints the attributes in name order: app, lib000, lib001, …
  const [top, ...libPaths] = out;
  if (top === undefined || libPaths.length !== libs.length) throw new Error(`nix-build printed ${out.length} paths for ${libs.length + 1} attributes`);
  const { secretKeyFile, publicKey } = key ?? (await generateNixKey(dir));
  await runTool('nix', ['store', 'sign', '-k', secretKeyFile, '-r', top], { env });
  const paths = (await runTool('nix-store', ['--query', '--requisites', top], { env })).trim().split('\n').sort();
  return { top, libs: libPaths, paths, publicKey, secretKeyFile, dir };
}

/** A fresh Nix signing key (`k1-<random>`) in `dir`: its secret key file and `name:base64` public key. */
export async function generateNixKey(dir: string): Promise<{ secretKeyFile: string; publicKey: string }> {
  const env = nixEnv(dir);
  const keyName = `k1-${randomBytes(3).toString('hex')}`;
  const secretKeyFile = join(dir, `nix-secret-key-${keyName}`);
  await writeFile(secretKeyFile, await runTool('nix', ['key', 'generate-secret', '--key-name', keyName], { env }), { mode: 0o600 });
  const publicKey = (await runTool('nix', ['key', 'convert-secret-to-public'], { env, input: await readFile(secretKeyFile) })).trim();
  return { secretKeyFile, publicKey };
}

/** Publishes the fixture's closure with `nix copy` to a file:// binary cache at `cacheDir`; returns its nix+file:// URL. */
export async function publishNixCache(fixture: NixClosureFixture, cacheDir: string, compression: NixCompressionName): Promise<string> {
  await runTool('nix', ['copy', '--to', `file://${cacheDir}?compression=${compression}`, fixture.top], { env: nixEnv(fixture.dir) });
  return `nix+file://${cacheDir}`;
}

/** `nix-store --dump` of a path (the NAR, as Nix serialises it): compare a materialised path with its original. */
export function nixDump(path: string, dir: string): Promise<Buffer> {
  return runTool('nix-store', ['--dump', path], { env: nixEnv(dir), binary: true });
}

/**
 * Rewrites the narinfo of `storePath` in a file:// cache with `edit` (tests of tampered caches). With
 * `resignWith` (a Nix secret key file), its Sig lines are replaced by a valid signature of that key over the
 * edited fields, so only the edit itself (a cycle, a wrong NarHash) is left for the reader to catch.
 */
export async function tamperNarInfo(cacheDir: string, storePath: string, edit: (text: string) => string, resignWith?: string): Promise<void> {
  const file = join(cacheDir, `${parseStorePath(storePath).hash}.narinfo`);
  let text = edit(await readFile(file, 'utf8'));
  if (resignWith !== undefined) {
    const [name, b64] = (await readFile(resignWith, 'utf8')).trim().split(':') as [string, string];
    const seed = Buffer.from(b64, 'base64').subarray(0, 32);
    const key = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
    const info = parseNarInfo(text, parseNarInfoStorePath(text));
    const sig = sign(null, Buffer.from(narInfoFingerprint(info)), key).toString('base64');
    text = `${text.split('\n').filter((l) => !l.startsWith('Sig:') && l !== '').join('\n')}\nSig: ${name}:${sig}\n`;
  }
  await writeFile(file, text);
}

function parseNarInfoStorePath(text: string): string {
  return /^StorePath: (.*)$/m.exec(text)?.[1] ?? '';
}
