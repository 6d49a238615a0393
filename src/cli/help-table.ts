import type { HelpTable } from './quick-help.js';

/**
 * The help table the bin's entry answers from. Undefined here: scripts/bundle-cli.mjs replaces this module
 * in the bundle with the table help-snapshot.ts takes from the built CLI, so unbundled code (dist/src)
 * simply always runs the CLI proper.
 */
export const HELP_TABLE: HelpTable | undefined = undefined;
