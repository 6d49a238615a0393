import { locatePointer } from './locate.js';
import type { ParsedYaml } from './parse-yaml.js';
import type { DeclarationIssue } from './result.js';

/** An issue raised by a named rule at the node a pointer names (the nearest existing ancestor if absent). */
export function issueAt(parsed: ParsedYaml, pointer: string, message: string, rule: string, opts: { key?: boolean } = {}): DeclarationIssue {
  const at = locatePointer(parsed, pointer, opts);
  return { file: parsed.file, line: at.line, col: at.col, pointer, message, rule };
}
