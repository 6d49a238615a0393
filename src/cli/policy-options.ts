import { resolve } from 'node:path';
import { UsageError } from '../errors/index.js';
import { buildPolicy } from '../trust/publisher-trust.js';
import type { PublisherPolicy } from '../trust/manifest-policy.js';
import { flag, stringList, stringOption, type CommandContext, type CommandInput, type OptionSpec } from './command.js';

/** The options of every verb that checks a closure against a publisher policy (fetch, verify). */
export const POLICY_OPTIONS: Record<string, OptionSpec> = {
  trust: { type: 'string', multiple: true, value: 'NAME:KEY', help: 'trusted publisher key (or @FILE)' },
  threshold: { type: 'string', value: 'N', help: 'distinct trusted signatures required (default 1)' },
  'require-deployable': { type: 'boolean', help: 'require a promoted deployable flag' },
  promoter: { type: 'string', multiple: true, value: 'NAME:KEY', help: 'key allowed to promote (default: the trusted keys)' },
};

/**
 * The publisher policy those options describe. No --trust at all is a usage error (verification is never
 * off); a key that cannot be read or parsed is a KeyError.
 */
export function policyFromInput(input: CommandInput, ctx: Pick<CommandContext, 'cwd'>): PublisherPolicy {
  if (stringList(input, 'trust').length === 0) throw new UsageError('--trust NAME:KEY (or @FILE) is required: a closure is only read against trusted publisher keys');
  const threshold = stringOption(input, 'threshold');
  return buildPolicy({
    trust: stringList(input, 'trust'),
    ...(threshold ? { threshold } : {}),
    requireDeployable: flag(input, 'require-deployable'),
    promoters: stringList(input, 'promoter'),
    resolve: (p) => resolve(ctx.cwd, p),
  });
}
