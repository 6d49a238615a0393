import { UsageError } from '../errors/index.js';
import { stringOption, type CommandInput } from './command.js';

/** `--concurrency N` of `flotilla fetch` (1–256), or undefined when not given; UsageError otherwise. */
export function concurrencyOption(input: CommandInput): number | undefined {
  const conc = stringOption(input, 'concurrency');
  if (conc === undefined) return undefined;
  const n = Number(conc);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new UsageError(`--concurrency must be an integer from 1 to 256, got ${JSON.stringify(conc)}`);
  return n;
}
