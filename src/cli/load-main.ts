/**
 * Loads the CLI proper (main.ts) for the bin's entry. scripts/bundle-cli.mjs replaces this module in the
 * bundle with one that requires the CLI's bundle through its code cache (code-cache.ts).
 */
export function loadMain(): Promise<typeof import('./main.js')> {
  return import('./main.js');
}
