import { resolve } from 'node:path';

/**
 * The built CLI: the bundle that package.json's `bin` runs (dist/bin/, made by `npm run build`), run as
 * `node CLI`, so every process-level CLI test exercises what ships. Tests that import modules use
 * dist/src/ or src/.
 */
export const CLI = resolve('dist/bin/flotilla.js');

/** package.json's `bin` itself: the shell launcher that execs Node on CLI (src/cli/flotilla-launcher.sh). */
export const LAUNCHER = resolve('dist/bin/flotilla');
