import { verifyNixClosure } from '../fetch/nix-inspect.js';
import type { NixStorePath } from '../store/closure-ref.js';
import { flag, type CommandContext, type CommandInput, type CommandResult } from './command.js';
import { nixCacheArgs, nixTrustArgs } from './nix-args.js';

/** `flotilla verify /nix/store/…`: every path's signatures against --trust, and every NAR's hashes; exit 1 on any failure. */
export async function verifyNixPath(top: NixStorePath, input: CommandInput, ctx: CommandContext): Promise<CommandResult> {
  const trust = nixTrustArgs(input, ctx);
  const r = await verifyNixClosure(nixCacheArgs(input, top), top, trust, { signal: ctx.signal, signaturesOnly: flag(input, 'signatures-only') });
  const bad = r.paths.filter((p) => p.problem !== undefined);
  const signers = [...new Set(r.paths.flatMap((p) => p.signers))].sort();
  const head = `${r.ok ? 'OK' : 'FAILED'} ${top}: ${r.paths.length} store path(s) from ${r.cache}, ${r.narBytesChecked} NAR bytes verified; signed by ${signers.join(', ') || 'no trusted key'}`;
  const text = [head, ...bad.map((p) => `  ${p.storePath}: ${p.problem}`)].join('\n');
  return { exitCode: r.ok ? 0 : 1, text, json: r };
}
