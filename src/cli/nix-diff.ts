import { listNixClosure } from '../fetch/nix-inspect.js';
import { diffNixClosures } from '../nix/index.js';
import type { NixStorePath } from '../store/closure-ref.js';
import type { CommandContext, CommandInput, CommandResult } from './command.js';
import { nixCacheArgs } from './nix-args.js';

/** `flotilla diff /nix/store/A /nix/store/B`: store paths added and removed, and what a machine on A fetches for B. */
export async function diffNixPaths(a: NixStorePath, b: NixStorePath, input: CommandInput, ctx: CommandContext): Promise<CommandResult> {
  const urls = nixCacheArgs(input, a);
  const ca = await listNixClosure(urls, a, { signal: ctx.signal });
  const cb = await listNixClosure(urls, b, { signal: ctx.signal });
  const d = diffNixClosures(ca.closure, cb.closure);
  const lines = [
    ...d.added.map((p) => `+ ${p.storePath} (${p.narSize} NAR bytes, ${p.fileSize} to download)`),
    ...d.removed.map((p) => `- ${p.storePath}`),
    `closure ${ca.closure.length} -> ${cb.closure.length} path(s), ${d.narSizeA} -> ${d.narSizeB} NAR bytes; ` +
      `fetching B on a machine holding A transfers ${d.fileBytesToFetch} bytes (${d.narBytesToFetch} NAR bytes) in ${d.added.length} path(s)`,
  ];
  return { exitCode: 0, text: lines.join('\n'), json: d };
}
