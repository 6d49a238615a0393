/**
 * Loads the CLI proper (main.ts) for the bin's entry, to run `verb` (the first argument, if any).
 * scripts/bundle-cli.mjs replaces this module in the bundle with one that requires the CLI's bundle for
 * that verb (a verb of its own, or the whole CLI) through its code cache (code-cache.ts).
 */
export function loadMain(_verb: string | undefined): Promise<typeof import('./main.js')> {
  return import('./main.js');
}
