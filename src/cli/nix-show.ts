import { listNixClosure } from '../fetch/nix-inspect.js';
import { trustedSigners, type NixTrustPolicy } from '../nix/index.js';
import type { NixStorePath } from '../store/closure-ref.js';
import { stringList, type CommandContext, type CommandInput, type CommandResult } from './command.js';
import { nixCacheArgs, nixTrustArgs } from './nix-args.js';

/**
 * `flotilla show /nix/store/…`: the top path's narinfo (hashes, sizes, references, deriver, signers) and
 * its closure's size, read from the Nix caches among --store. Signers are listed by key name; with --trust
 * (Nix keys), each is marked verified or not.
 */
export async function showNixPath(top: NixStorePath, input: CommandInput, ctx: CommandContext): Promise<CommandResult> {
  const trust: NixTrustPolicy | null = stringList(input, 'trust').length > 0 ? nixTrustArgs(input, ctx) : null;
  const listed = await listNixClosure(nixCacheArgs(input, top), top, { signal: ctx.signal });
  const info = listed.closure.find((i) => i.storePath === top)!;
  const good = trust === null ? null : new Set(trustedSigners(info, trust));
  const signers = info.sigs.map((s) => s.slice(0, Math.max(0, s.indexOf(':')))).map((key) => (good === null ? { key } : { key, verified: good.has(key) }));
  const closureNarBytes = listed.closure.reduce((n, i) => n + i.narSize, 0);
  const closureFileBytes = listed.closure.reduce((n, i) => n + (i.fileSize ?? i.narSize), 0);
  const json = {
    storePath: top, cache: listed.url, narHash: info.narHash, narSize: info.narSize, fileSize: info.fileSize ?? null, compression: info.compression,
    references: info.references, deriver: info.deriver ?? null, signers, closurePaths: listed.closure.map((i) => i.storePath), closureNarBytes, closureFileBytes,
  };
  const lines = [
    top,
    `  NAR ${info.narHash}, ${info.narSize} bytes; file ${info.fileSize ?? '?'} bytes (${info.compression}) in ${listed.url}`,
    `  closure ${listed.closure.length} path(s), ${closureNarBytes} NAR bytes, ${closureFileBytes} bytes to download`,
    ...info.references.map((r) => `  reference ${r}`),
    ...(info.deriver ? [`  deriver ${info.deriver}`] : []),
    `  signers ${signers.map((s) => (s.verified === undefined ? s.key : `${s.key}${s.verified ? ' (verified)' : ' (NOT verified)'}`)).join(', ') || '(none)'}`,
  ];
  return { exitCode: 0, text: lines.join('\n'), json };
}
