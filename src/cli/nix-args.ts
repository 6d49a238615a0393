import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { KeyError, UsageError } from '../errors/index.js';
import { nixTrustOf } from '../fetch/nix-closure.js';
import type { NixTrustPolicy } from '../nix/index.js';
import { storesFor } from '../store/closure-ref.js';
import { stringList, stringOption, type CommandContext, type CommandInput } from './command.js';

/**
 * The Nix binary caches among --store (`nix+file://`, `nix+https://`, `nix+s3://`), in order. A verb given a
 * Nix store path with none of them is a usage error naming the path: Flotilla stores cannot serve it.
 */
export function nixCacheArgs(input: CommandInput, storePath: string): string[] {
  const urls = storesFor(stringList(input, 'store').flatMap((v) => v.split(',')).map((s) => s.trim()).filter((s) => s !== ''), 'nix');
  if (urls.length === 0) {
    throw new UsageError(`${storePath} is a Nix store path: give the Nix binary cache holding it with --store nix+file:///DIR (or nix+https://…, nix+s3://…)`, { storePath });
  }
  return urls;
}

/**
 * The Nix trust --trust NAME:BASE64 (Nix's `nix key convert-secret-to-public` form, or @FILE with one key a
 * line) and --threshold describe. No key is a usage error (verification is never off); a malformed or
 * repeated key is a KeyError.
 */
export function nixTrustArgs(input: CommandInput, ctx: Pick<CommandContext, 'cwd'>): NixTrustPolicy {
  const values = stringList(input, 'trust');
  if (values.length === 0) throw new UsageError('--trust NAME:KEY (or @FILE) is required: a Nix closure is only read against trusted Nix signing keys');
  const keys = values.flatMap((v) => (v.startsWith('@') ? keysInFile(resolve(ctx.cwd, v.slice(1))) : [v]));
  const t = stringOption(input, 'threshold');
  const threshold = t === undefined ? 1 : Number(t);
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > keys.length) {
    throw new UsageError(`--threshold must be an integer from 1 to ${keys.length} (the number of trusted keys), got ${t}`);
  }
  return nixTrustOf({ trustedKeys: keys, threshold });
}

function keysInFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new KeyError(`cannot read trusted keys file ${file}`, { file });
  }
  const keys = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (keys.length === 0) throw new KeyError(`trusted keys file ${file} holds no keys`, { file });
  return keys;
}
