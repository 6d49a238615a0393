import type { Command } from './command.js';

/** A verb in the table: loaded only when called, so `flotilla --help` stays fast. */
export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<Command>;
}

/** The command table. Add a verb here and in its own file src/cli/verb-NAME.ts exporting `command`. */
export const COMMANDS: CommandEntry[] = [];
