import { resolve } from 'node:path';

/**
 * The built CLI as users run it: the bundle that package.json's `bin` names (dist/bin/, made by
 * `npm run build`), so every process-level CLI test exercises what ships. Tests that import modules use
 * dist/src/ or src/.
 */
export const CLI = resolve('dist/bin/flotilla.js');
