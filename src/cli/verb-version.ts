import { FLOTILLA_VERSION } from '../util/version.js';
import type { Command } from './command.js';

/** `flotilla version`: the version (as `--version` prints it anywhere on the command line). */
export const command: Command = {
  name: 'version',
  summary: "print flotilla's version (also: --version with any command)",
  usage: 'flotilla version [--json]',
  description: 'The version comes from package.json, written into the build (scripts/gen-version.mjs). --json prints {"version": …}.',
  options: {},
  run() {
    return Promise.resolve({ exitCode: 0, text: FLOTILLA_VERSION, json: { version: FLOTILLA_VERSION } });
  },
};
