import type { Command } from './command.js';
import { stringList } from './command.js';
import { closeAll, openStoreArg, requireOption } from '../packages/cli-args.js';
import { summarisePackage } from '../packages/describe-package.js';
import { readPins } from '../packages/read-pins.js';
import { readClosureManifests } from '../fetch/read-closure.js';
import { type Digest } from '../store/digest.js';
import { deployableFlagKey, signatureKey, signaturesPrefix } from '../store/keys.js';
import { listAll, type Store } from '../store/store.js';
import { parseDeployableFlag, verifyDeployableFlag } from '../trust/manifest-deployable.js';
import { verifyManifestSignature } from '../trust/manifest-signature.js';
import { parseTrustList } from '../trust/publisher-trust.js';
import type { PublicKey } from '../trust/publisher-key.js';
import { resolve } from 'node:path';
import { isDigest } from '../store/digest.js';
import { closureArg } from './digest-arg.js';
import { showNixPath } from './nix-show.js';

/** Signature key names present for `digest` (listing the store), each verified when trusted keys are given. */
async function listSigners(store: Store, digest: Digest, size: number, trusted: PublicKey[]): Promise<Array<{ key: string; verified?: boolean }>> {
  const signers: Array<{ key: string; verified?: boolean }> = [];
  const names: string[] = [];
  if (store.capabilities.list) {
    // A listing that fails (denied, unreachable) is an error, not "no signers": show would otherwise hide them.
    for await (const o of listAll(store, signaturesPrefix(digest))) names.push(o.key.slice(signaturesPrefix(digest).length));
  } else {
    // Stores that cannot list (static HTTP): try the trusted names directly.
    names.push(...new Set(trusted.map((k) => k.name)));
  }
  for (const name of names) {
    if (trusted.length === 0) {
      signers.push({ key: name });
      continue;
    }
    const sig = await store.getBytes(signatureKey(digest, name), { maxBytes: 1024 }).catch((err: unknown) => {
      if (store.isNotFound(err)) return undefined;
      throw err;
    });
    if (sig === undefined) continue;
    signers.push({ key: name, verified: trusted.some((k) => k.name === name && verifyManifestSignature(k, digest, size, sig)) });
  }
  return signers;
}

/** `flotilla show DIGEST --store URL [--trust KEY]...`: what a package is and who vouches for it. */
export const command: Command = {
  name: 'show',
  summary: 'show a package: name, size, files, references, provenance, signers, deployable, pins',
  usage: 'flotilla show DIGEST|/nix/store/HASH-NAME --store URL [--trust NAME:KEY]... [--json]',
  description: `Signers are listed by key name; with --trust, each is marked verified or not. A Nix store path is
read from the Nix binary cache --store names (nix+file://, nix+https://, nix+s3://): its NAR hash and sizes,
references, deriver, signers (--trust takes Nix keys, NAME:BASE64) and its closure's paths and bytes.`,
  positionals: { min: 1, max: 1 },
  options: {
    store: { type: 'string', multiple: true, value: 'URL', help: 'store URL (for a Nix path: Nix cache URL(s), in order)' },
    trust: { type: 'string', multiple: true, value: 'NAME:KEY', help: 'public key (or @FILE) to verify signatures with' },
  },
  async run(input, ctx) {
    const ref = closureArg(input.positionals[0], 'DIGEST');
    if (!isDigest(ref)) return showNixPath(ref, input, ctx);
    const digest = ref;
    const store = openStoreArg(requireOption(stringList(input, 'store')[0], 'store'), ctx);
    const trusted = parseTrustList(stringList(input, 'trust'), (p) => resolve(ctx.cwd, p));
    try {
      const closure = await readClosureManifests([store], digest);
      const root = closure.packages[0];
      if (!root) throw new Error('unreachable: a closure has a root');
      const summary = summarisePackage(root);
      const signers = await listSigners(store, digest, root.bytes.length, trusted);
      let deployable: { state: string; key: string; time: string; verified?: boolean } | null = null;
      try {
        const f = parseDeployableFlag(await store.getBytes(deployableFlagKey(digest), { maxBytes: 4096 }), digest);
        deployable = { state: f.state, key: f.key, time: f.time };
        if (trusted.length > 0) deployable.verified = trusted.some((k) => k.name === f.key && verifyDeployableFlag(f, k));
      } catch (err) {
        if (!store.isNotFound(err)) deployable = { state: 'invalid', key: '', time: '' };
      }
      // A read-only HTTP mirror cannot list: pins are then unknown rather than an error.
      const pins = await readPins(store).then((all) => all.filter((p) => p.digest === digest).map((p) => p.name), () => ['(cannot list this store)']);
      const closureBytes = closure.packages.reduce((n, p) => n + summarisePackage(p).fileBytes, 0);
      const json = { ...summary, closurePackages: closure.packages.length, closureBytes, signers, deployable, pins };
      const lines = [
        `${summary.name} ${digest}`,
        `  files ${summary.files} (${summary.executables} executable, ${summary.inlined} inlined), dirs ${summary.dirs}, symlinks ${summary.symlinks}`,
        `  size ${summary.fileBytes} bytes; manifest ${summary.manifestBytes} bytes; closure ${closure.packages.length} package(s), ${closureBytes} bytes`,
        ...summary.references.map((r) => `  reference ${r}`),
        ...Object.entries(summary.provenance).map(([k, v]) => `  provenance ${k}=${v}`),
        `  signers ${signers.map((s) => (s.verified === undefined ? s.key : `${s.key}${s.verified ? ' (verified)' : ' (NOT verified)'}`)).join(', ') || '(none)'}`,
        `  deployable ${deployable ? `${deployable.state} by ${deployable.key} at ${deployable.time}` : 'no'}`,
        `  pins ${pins.join(', ') || '(none)'}`,
      ];
      return { exitCode: 0, text: lines.join('\n'), json };
    } finally {
      await closeAll([store]);
    }
  },
};
