// Generated from package.json by scripts/gen-version.mjs (npm run build). Do not edit.
/** Flotilla's version, reported in status files and `--version`. */
export const FLOTILLA_VERSION = '0.1.0';
