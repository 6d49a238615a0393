import type { Command } from './command.js';
import { stringList, stringOption } from './command.js';
import { closeAll, openStoreArg, requireOption } from '../packages/cli-args.js';
import { summarisePackage } from '../packages/describe-package.js';
import { readPins } from '../packages/read-pins.js';
import { readClosureManifests } from '../fetch/read-closure.js';
import { parseDigest } from '../store/digest.js';
import { deployableFlagKey, signaturesPrefix } from '../store/keys.js';
import { listAll } from '../store/store.js';
import { parseDeployableFlag, verifyDeployableFlag } from '../trust/manifest-deployable.js';
import { verifyManifestSignature } from '../trust/manifest-signature.js';
import { parseTrustList } from '../trust/publisher-trust.js';
import { resolve } from 'node:path';

/** `flotilla show DIGEST --store URL [--trust KEY]...`: what a package is and who vouches for it. */
export const command: Command = {
  name: 'show',
  summary: 'show a package: name, size, files, references, provenance, signers, deployable, pins',
  usage: 'flotilla show DIGEST --store URL [--trust NAME:KEY]... [--json]',
  description: 'Signers are listed by key name; with --trust, each is marked verified or not.',
  positionals: { min: 1, max: 1 },
  options: {
    store: { type: 'string', value: 'URL', help: 'store URL' },
    trust: { type: 'string', multiple: true, value: 'NAME:KEY', help: 'public key (or @FILE) to verify signatures with' },
  },
  async run(input, ctx) {
    const digest = parseDigest(input.positionals[0], 'DIGEST');
    const store = openStoreArg(requireOption(stringOption(input, 'store'), 'store'), ctx.cwd);
    const trusted = parseTrustList(stringList(input, 'trust'), (p) => resolve(ctx.cwd, p));
    try {
      const closure = await readClosureManifests([store], digest);
      const root = closure.packages[0];
      if (!root) throw new Error('unreachable: a closure has a root');
      const summary = summarisePackage(root);
      const signers: Array<{ key: string; verified?: boolean }> = [];
      for await (const o of listAll(store, signaturesPrefix(digest))) {
        const name = o.key.slice(signaturesPrefix(digest).length);
        const keys = trusted.filter((k) => k.name === name);
        if (trusted.length === 0) signers.push({ key: name });
        else {
          const sig = await store.getBytes(o.key, { maxBytes: 1024 });
          signers.push({ key: name, verified: keys.some((k) => verifyManifestSignature(k, digest, root.bytes.length, sig)) });
        }
      }
      let deployable: { state: string; key: string; time: string; verified?: boolean } | null = null;
      try {
        const f = parseDeployableFlag(await store.getBytes(deployableFlagKey(digest), { maxBytes: 4096 }), digest);
        deployable = { state: f.state, key: f.key, time: f.time };
        if (trusted.length > 0) deployable.verified = trusted.some((k) => k.name === f.key && verifyDeployableFlag(f, k));
      } catch (err) {
        if (!store.isNotFound(err)) deployable = { state: 'invalid', key: '', time: '' };
      }
      const pins = (await readPins(store)).filter((p) => p.digest === digest).map((p) => p.name);
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
