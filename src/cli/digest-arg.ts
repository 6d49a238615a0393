import { UsageError } from '../errors/index.js';
import { isClosureRef, parseClosureRef, type ClosureRef } from '../store/closure-ref.js';
import { isDigest, parseDigest, type Digest } from '../store/digest.js';

/**
 * A digest typed on the command line: a malformed one is the caller's usage error (exit 2, naming the
 * argument), not a failure of the store or the closure, which keep InvalidDigestError for bytes they hold.
 */
export function digestArg(value: string | undefined, what: string): Digest {
  if (isDigest(value)) return value;
  try {
    return parseDigest(value, what);
  } catch (err) {
    throw new UsageError((err as Error).message, { what });
  }
}

/** A closure typed on the command line: a digest or a Nix store path; anything else is a usage error (exit 2). */
export function closureArg(value: string | undefined, what: string): ClosureRef {
  if (isClosureRef(value)) return value;
  try {
    return parseClosureRef(value, what);
  } catch (err) {
    throw new UsageError((err as Error).message, { what });
  }
}
