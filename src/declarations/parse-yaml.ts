import { LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { DeclarationIssue, Result } from './result.js';

/** A parsed YAML file: the document (for positions), its line counter, and its plain JS value. */
export interface ParsedYaml {
  file: string;
  doc: Document.Parsed;
  lineCounter: LineCounter;
  data: unknown;
}

/** Files larger than this are refused before parsing: declarations are small, and YAML parsing is not free. */
export const MAX_DECLARATION_BYTES = 1024 * 1024;

/** Strips the context yaml appends to its messages ("... at line 4, column 3:\n\n..."): we print our own position. */
function shortMessage(message: string): string {
  const cut = message.search(/ at line \d+, column \d+/);
  return (cut === -1 ? message : message.slice(0, cut)).trim();
}

/** Where to point for a failed conversion: the first alias with no anchor, else the first alias (an alias bomb). */
function danglingAliasOffset(doc: Document.Parsed): number | undefined {
  let first: number | undefined;
  let dangling: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      first ??= node.range?.[0];
      if (node.resolve(doc) !== undefined) return undefined;
      dangling = node.range?.[0];
      return visit.BREAK;
    },
  });
  return dangling ?? first;
}

/**
 * Parses one YAML 1.2 document (core schema, unique keys, at most 100 alias expansions). Every YAML error
 * becomes an issue with file:line:col; never throws for bad input. Multiple documents in one file are refused.
 */
export function parseYaml(file: string, text: string): Result<ParsedYaml> {
  if (text.length > MAX_DECLARATION_BYTES) {
    return { ok: false, errors: [{ file, pointer: '', message: `file is larger than ${MAX_DECLARATION_BYTES} bytes` }] };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: true, version: '1.2' });
  if (doc.errors.length > 0) {
    const errors: DeclarationIssue[] = doc.errors.map((e) => {
      const at = e.linePos?.[0] ?? lineCounter.linePos(e.pos[0]);
      return { file, line: at.line, col: at.col, pointer: '', message: `YAML ${e.code}: ${shortMessage(e.message)}` };
    });
    return { ok: false, errors };
  }
  try {
    const data: unknown = doc.toJS({ maxAliasCount: 100 });
    return { ok: true, value: { file, doc, lineCounter, data } };
  } catch (err) {
    // Unresolved aliases and alias bombs surface only when converting: point at the first dangling alias.
    const at = lineCounter.linePos(danglingAliasOffset(doc) ?? 0);
    return { ok: false, errors: [{ file, line: at.line, col: at.col, pointer: '', message: `YAML: ${(err as Error).message}` }] };
  }
}
