import type { Command } from './command.js';
import { POLICY_OPTIONS, policyFromInput } from './policy-options.js';
import { stringOption } from './command.js';
import { closeAll, openStoreArg, requireOption } from '../packages/cli-args.js';
import { verifyClosure } from '../fetch/verify-closure.js';
import { digestArg } from './digest-arg.js';

/** `flotilla verify DIGEST --store URL --trust …`: exit 0 only if every object and the signatures hold. */
export const command: Command = {
  name: 'verify',
  summary: 'verify a closure in the store: signatures, every manifest and every object\'s hash',
  usage: 'flotilla verify DIGEST --store URL --trust NAME:KEY... [--threshold N] [--require-deployable] [--promoter NAME:KEY]... [--json]',
  positionals: { min: 1, max: 1 },
  options: {
    ...POLICY_OPTIONS,
    store: { type: 'string', value: 'URL', help: 'store URL' },
  },
  async run(input, ctx) {
    const policy = policyFromInput(input, ctx);
    const store = openStoreArg(requireOption(stringOption(input, 'store'), 'store'), ctx);
    try {
      const r = await verifyClosure(store, digestArg(input.positionals[0], 'DIGEST'), { policy, signal: ctx.signal });
      const head = `${r.ok ? 'OK' : 'FAILED'} ${r.root}: ${r.packages.length} package(s), ${r.objectsChecked} object(s), ${r.bytesChecked} bytes verified; signed by ${r.signers.join(', ')}`;
      const text = [head, ...r.failures.map((f) => `  ${f.code} ${f.object}: ${f.message}`)].join('\n');
      return { exitCode: r.ok ? 0 : 1, text, json: r };
    } finally {
      await closeAll([store]);
    }
  },
};
