import type { Command } from './command.js';
import { POLICY_OPTIONS, policyFromInput } from './policy-options.js';
import { stringList } from './command.js';
import { closeAll, openStoreArg, requireOption } from '../packages/cli-args.js';
import { verifyClosure } from '../fetch/verify-closure.js';
import { isDigest } from '../store/digest.js';
import { closureArg } from './digest-arg.js';
import { verifyNixPath } from './nix-verify.js';

/** `flotilla verify DIGEST|/nix/store/… --store URL --trust …`: exit 0 only if every object and the signatures hold. */
export const command: Command = {
  name: 'verify',
  summary: 'verify a closure in the store: signatures, every manifest and every object\'s hash',
  usage: 'flotilla verify DIGEST|/nix/store/HASH-NAME --store URL --trust NAME:KEY... [--threshold N] [--require-deployable] [--promoter NAME:KEY]... [--signatures-only] [--json]',
  description: `For a Nix store path, --store names the Nix binary cache (nix+file:///DIR, nix+https://…, nix+s3://…)
and --trust the Nix signing keys (NAME:BASE64, as nix key convert-secret-to-public prints them): every path of
the closure must carry --threshold valid signatures, and every NAR is downloaded and checked against its
narinfo (FileSize, FileHash, NarSize, NarHash, NAR rules) without writing anything; each failing path is
listed. --signatures-only skips the NAR downloads.`,
  positionals: { min: 1, max: 1 },
  options: {
    ...POLICY_OPTIONS,
    store: { type: 'string', multiple: true, value: 'URL', help: 'store URL (for a Nix path: Nix cache URL(s), in order)' },
    'signatures-only': { type: 'boolean', help: 'Nix paths: check the narinfo signatures, not the NARs' },
  },
  async run(input, ctx) {
    const ref = closureArg(input.positionals[0], 'DIGEST');
    if (!isDigest(ref)) return verifyNixPath(ref, input, ctx);
    const policy = policyFromInput(input, ctx);
    const store = openStoreArg(requireOption(stringList(input, 'store')[0], 'store'), ctx);
    try {
      const r = await verifyClosure(store, ref, { policy, signal: ctx.signal });
      const head = `${r.ok ? 'OK' : 'FAILED'} ${r.root}: ${r.packages.length} package(s), ${r.objectsChecked} object(s), ${r.bytesChecked} bytes verified; signed by ${r.signers.join(', ')}`;
      const text = [head, ...r.failures.map((f) => `  ${f.code} ${f.object}: ${f.message}`)].join('\n');
      return { exitCode: r.ok ? 0 : 1, text, json: r };
    } finally {
      await closeAll([store]);
    }
  },
};
