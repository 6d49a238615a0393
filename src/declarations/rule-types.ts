import type { ParsedYaml } from './parse-yaml.js';
import type { RawMachine, RawRepoConfig, RawSet } from './raw-types.js';
import type { DeclarationIssue } from './result.js';
import type { MachineDeclaration, SetDeclaration } from './types.js';

/** A set file that passed its schema: where it came from, what it said, and its normalised form. */
export interface SetFile {
  name: string;
  parsed: ParsedYaml;
  raw: RawSet;
  set: SetDeclaration;
}

/** A machine file that passed its schema. */
export interface MachineFile {
  name: string;
  parsed: ParsedYaml;
  raw: RawMachine;
  machine: MachineDeclaration;
}

/** flotilla.yaml after its schema passed. */
export interface ConfigFile {
  parsed: ParsedYaml;
  raw: RawRepoConfig;
}

/** What every semantic rule sees: only schema-valid files. */
export interface RuleInput {
  config?: ConfigFile;
  sets: SetFile[];
  machines: MachineFile[];
  /** Names of every set file present, valid or not (so one broken set does not make its dependents fail too). */
  allSetNames: ReadonlySet<string>;
}

/** A named semantic rule: pure, returns every issue it finds (none: the rule holds). */
export interface Rule {
  name: string;
  check(input: RuleInput): DeclarationIssue[];
}
