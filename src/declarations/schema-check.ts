import type { ErrorObject } from 'ajv';
import { getValidator, type SchemaKind } from './schema-registry.js';
import { joinPointer, locatePointer, splitPointer } from './locate.js';
import type { ParsedYaml } from './parse-yaml.js';
import type { DeclarationIssue } from './result.js';

interface SchemaNode {
  title?: string;
  properties?: Record<string, unknown>;
  format?: string;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function describe(e: ErrorObject): { message: string; pointer: string; atKey: boolean } | undefined {
  const parent = (e.parentSchema ?? {}) as SchemaNode;
  const title = parent.title;
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'required' && (p['missingProperty'] === 'secret' || p['missingProperty'] === 'url' || p['missingProperty'] === 'command') && e.instancePath.includes('/receivers/')) {
    return { pointer: e.instancePath, atKey: false, message: `a ${p['missingProperty'] === 'command' ? 'command' : 'webhook'} receiver needs ${String(p['missingProperty'])}${p['missingProperty'] === 'secret' ? ' (the name of a secret in each agent config\'s notificationSecrets)' : ''}` };
  }
  switch (e.keyword) {
    case 'additionalProperties': {
      const name = String(p['additionalProperty']);
      const allowed = Object.keys(parent.properties ?? {});
      const hint = allowed.length > 0 ? ` (allowed: ${allowed.join(', ')})` : '';
      return { pointer: joinPointer([...splitPointer(e.instancePath), name]), atKey: true, message: `unknown property "${name}"${hint}` };
    }
    case 'propertyNames': {
      const name = String(p['propertyName']);
      return { pointer: joinPointer([...splitPointer(e.instancePath), name]), atKey: true, message: `property name "${name}" is invalid` };
    }
    case 'type': {
      // Titles of object schemas name the document ("Flotilla deployment set"); only value titles say what is expected.
      const want = (parent as { type?: unknown }).type !== 'object' && title ? title : String(p['type']).split(',').join(' or ');
      return { pointer: e.instancePath, atKey: false, message: `must be ${want} (got ${typeName(e.data)})` };
    }
    case 'pattern':
      return { pointer: e.instancePath, atKey: false, message: `must be ${title ?? `a string matching ${String(p['pattern'])}`}` };
    case 'format':
      return { pointer: e.instancePath, atKey: false, message: `must be ${title ?? `a valid ${String(p['format'])}`}` };
    case 'enum':
      return { pointer: e.instancePath, atKey: false, message: `must be one of: ${(p['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'const':
      return { pointer: e.instancePath, atKey: false, message: `must be ${JSON.stringify(p['allowedValue'])}` };
    case 'if':
      // The branch's own error (a required field of that type) says what is missing; "must match then" does not.
      return undefined;
    default:
      return { pointer: e.instancePath, atKey: false, message: e.message ?? e.keyword };
  }
}

/**
 * Checks a parsed file against its schema. Each ajv error becomes an issue pointing at the YAML node
 * (for unknown properties: at the key, naming it). Returns [] when the file is valid.
 */
export function checkSchema(kind: SchemaKind, parsed: ParsedYaml): DeclarationIssue[] {
  const validate = getValidator(kind);
  if (validate(parsed.data)) return [];
  const issues: DeclarationIssue[] = [];
  const seen = new Set<string>();
  for (const e of validate.errors ?? []) {
    // Errors raised inside propertyNames carry `propertyName`; the propertyNames error itself says it better.
    if ((e as ErrorObject & { propertyName?: string }).propertyName !== undefined) continue;
    const d = describe(e);
    if (!d) continue;
    const key = `${d.pointer}\0${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const at = locatePointer(parsed, d.pointer, { key: d.atKey });
    issues.push({ file: parsed.file, line: at.line, col: at.col, pointer: d.pointer, message: d.message });
  }
  return issues;
}
