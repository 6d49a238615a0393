/** One problem found in a declaration file: where it is, the JSON pointer into the document, and what is wrong. */
export interface DeclarationIssue {
  /** Repo path (flotilla.yaml, sets/web.yaml) or file path of the agent config. */
  file: string;
  /** 1-based line of the offending node, when known. */
  line?: number;
  /** 1-based column of the offending node, when known. */
  col?: number;
  /** JSON pointer into the document ("" for the whole file). */
  pointer: string;
  message: string;
  /** The semantic rule that raised it (e.g. "dependsOn-cycle"); absent for YAML and schema errors. */
  rule?: string;
}

/** Success with a value, or failure with every issue found. Loading never throws for bad input. */
export type Result<T> = { ok: true; value: T } | { ok: false; errors: DeclarationIssue[] };

/** Renders an issue as `file:line:col /pointer message [rule]`, the form editors and CI understand. */
export function formatIssue(issue: DeclarationIssue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}:${issue.col ?? 1}`;
  const pointer = issue.pointer === '' ? '' : ` ${issue.pointer}`;
  const rule = issue.rule === undefined ? '' : ` [${issue.rule}]`;
  return `${where}${pointer} ${issue.message}${rule}`;
}

/** Orders issues by file, then line, then column, so reports are stable. */
export function sortIssues(issues: DeclarationIssue[]): DeclarationIssue[] {
  return [...issues].sort(
    (a, b) => a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0),
  );
}
