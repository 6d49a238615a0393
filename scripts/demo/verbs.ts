import { COMMANDS } from '../../src/cli/commands.js';

/** Which of the review verbs this build of Flotilla has. */
export interface ReviewVerbs {
  bump: boolean;
  plan: boolean;
  revert: boolean;
}

async function loads(verb: string): Promise<boolean> {
  const entry = COMMANDS.find((c) => c.name === verb);
  if (entry === undefined) return false;
  // A table entry whose module is not built (a verb still being written) counts as absent.
  return entry.load().then(
    () => true,
    () => false,
  );
}

/**
 * Asks the command table which of `bump`, `plan` and `revert` exist (registered and loadable), so the demo
 * uses them as soon as they are there and plain signed git commits before that.
 */
export async function findReviewVerbs(): Promise<ReviewVerbs> {
  const [bump, plan, revert] = await Promise.all([loads('bump'), loads('plan'), loads('revert')]);
  return { bump, plan, revert };
}
