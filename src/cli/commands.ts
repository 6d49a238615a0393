import type { Command } from './command.js';

/** A verb in the table: loaded only when called, so `flotilla --help` stays fast. */
export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<Command>;
}

/** The command table. Add a verb here and in its own file src/cli/verb-NAME.ts exporting `command`. */
export const COMMANDS: CommandEntry[] = [
  { name: 'init', summary: 'create a new deploy repo (template, allowed_signers, first signed commit)', load: async () => (await import('./verb-init.js')).command },
  { name: 'validate', summary: 'check a deploy repo: schemas, rules, and the commit signature', load: async () => (await import('./verb-validate.js')).command },
];
