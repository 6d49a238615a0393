/** Flotilla's version, reported in status files and `--version`. Kept in step with package.json by a test. */
export const FLOTILLA_VERSION = '0.1.0';
