import { checkAllowedSigners } from './check-allowed-signers.js';
import { classifyPath } from './classify-path.js';
import { decodeUtf8 } from './decode.js';
import { normaliseConfig, normaliseMachine } from './normalise-config.js';
import { normaliseSet } from './normalise-set.js';
import { parseYaml, type ParsedYaml } from './parse-yaml.js';
import type { RawMachine, RawRepoConfig, RawSet } from './raw-types.js';
import { sortIssues, type DeclarationIssue, type Result } from './result.js';
import type { ConfigFile, MachineFile, SetFile } from './rule-types.js';
import { runRules } from './rules.js';
import { checkSchema } from './schema-check.js';
import type { SchemaKind } from './schema-registry.js';
import type { Declarations, MachineDeclaration, SetDeclaration } from './types.js';

/** Parses and schema-checks one file; the parsed form is returned only when both passed. */
function checkFile(kind: SchemaKind, file: string, bytes: Uint8Array | string, issues: DeclarationIssue[]): ParsedYaml | undefined {
  const text = decodeUtf8(bytes);
  if (text === undefined) {
    issues.push({ file, pointer: '', message: 'file is not valid UTF-8' });
    return undefined;
  }
  const parsed = parseYaml(file, text);
  if (!parsed.ok) {
    issues.push(...parsed.errors);
    return undefined;
  }
  const schemaIssues = checkSchema(kind, parsed.value);
  issues.push(...schemaIssues);
  return schemaIssues.length === 0 ? parsed.value : undefined;
}

function byName<T extends { name: string }>(items: T[]): Map<string, T> {
  return new Map([...items].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((x) => [x.name, x]));
}

/**
 * Loads a deploy repo's declarations from its files (repo path → bytes): flotilla.yaml, sets/NAME.yaml,
 * machines/NAME.yaml, allowed_signers; other paths are ignored. YAML → schema → normalised types → rules.
 * Returns every issue found, sorted by file and position, or the declarations; never throws for bad input.
 */
export function loadDeclarations(files: Map<string, Uint8Array | string>): Result<Declarations> {
  const issues: DeclarationIssue[] = [];
  let config: ConfigFile | undefined;
  let configSeen: string | undefined;
  const setInputs: Array<{ name: string; parsed: ParsedYaml }> = [];
  const machineFiles: MachineFile[] = [];
  let allowedSigners: string | undefined;

  for (const [path, bytes] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const c = classifyPath(path);
    if (c.kind === 'config') {
      if (configSeen !== undefined) {
        issues.push({ file: path, pointer: '', message: `${configSeen} already configures this repo; keep one of them`, rule: 'duplicate-config' });
        continue;
      }
      configSeen = path;
      const parsed = checkFile('flotilla', path, bytes, issues);
      if (parsed) config = { parsed, raw: parsed.data as RawRepoConfig };
    } else if (c.kind === 'set') {
      const parsed = checkFile('set', path, bytes, issues);
      if (parsed) setInputs.push({ name: c.name, parsed });
    } else if (c.kind === 'machine') {
      const parsed = checkFile('machine', path, bytes, issues);
      if (parsed) machineFiles.push({ name: c.name, parsed, raw: parsed.data as RawMachine, machine: normaliseMachine(c.name, path, parsed.data as RawMachine) });
    } else if (c.kind === 'allowed-signers') {
      allowedSigners = decodeUtf8(bytes);
      if (allowedSigners === undefined) issues.push({ file: path, pointer: '', message: 'file is not valid UTF-8' });
      else issues.push(...checkAllowedSigners(path, allowedSigners));
    } else if (c.kind === 'misplaced') {
      issues.push({ file: path, pointer: '', message: c.reason, rule: 'file-name' });
    }
  }
  if (configSeen === undefined) {
    issues.push({ file: 'flotilla.yaml', pointer: '', message: 'flotilla.yaml is missing: every deploy repo needs one (flotilla init writes it)', rule: 'config-required' });
  }

  const defaults = config?.raw.defaults ?? {};
  const setFiles: SetFile[] = setInputs.map(({ name, parsed }) => {
    const raw = parsed.data as RawSet;
    return { name, parsed, raw, set: normaliseSet(name, parsed.file, raw, defaults) };
  });
  const allSetNames = new Set([...files.keys()].flatMap((p) => {
    const c = classifyPath(p);
    return c.kind === 'set' ? [c.name] : [];
  }));
  issues.push(...runRules({ ...(config ? { config } : {}), sets: setFiles, machines: machineFiles, allSetNames }));

  if (issues.length > 0 || !config) return { ok: false, errors: sortIssues(issues) };
  const value: Declarations = {
    config: normaliseConfig(config.raw),
    sets: byName<SetDeclaration>(setFiles.map((s) => s.set)),
    machines: byName<MachineDeclaration>(machineFiles.map((m) => m.machine)),
  };
  if (allowedSigners !== undefined) value.allowedSigners = allowedSigners;
  return { ok: true, value };
}
