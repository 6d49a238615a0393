// The suite never skips (CONTRIBUTING.md, "Tests"): a missing server fails the run and says how to get one.
// This file scans every TypeScript file under test/ for the ways vitest can leave a test unrun and fails naming
// the file and line. The one exception is the slow tag: `describe.runIf(process.env.FLOTILLA_SLOW === '1')`.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const TEST_ROOT = 'test';

// Built from pieces so that this file's own text never matches what it looks for.
const DOT = '[.]';
const FORBIDDEN: Array<{ what: string; pattern: RegExp }> = [
  { what: 'skip', pattern: new RegExp(`${DOT}${'sk'}ip\\b`) },
  { what: 'skip-if', pattern: new RegExp(`${'sk'}ipIf\\b`) },
  { what: 'todo', pattern: new RegExp(`\\b(?:it|test|describe|suite)${DOT}${'to'}do\\b`) },
  { what: 'only', pattern: new RegExp(`\\b(?:it|test|describe|suite)${DOT}${'on'}ly\\b`) },
  { what: 'x-prefixed test', pattern: new RegExp(`\\bx(?:it|test|describe)\\s*\\(`) },
  { what: 'run-if', pattern: new RegExp(`${DOT}${'run'}If\\b`) },
];
/** The slow tag, the only conditional the suite may use; any other run condition is a skip. */
const SLOW_TAG = `describe.${'run'}If(process.env.FLOTILLA_SLOW === '1')`;

/** One way a file leaves a test unrun: where, what, and the line itself. */
interface SkipFinding {
  file: string;
  line: number;
  what: string;
  text: string;
}

/** Finds every forbidden skip in `text` (a file's contents); `file` names it in the findings. Pure. */
function findSkips(file: string, text: string): SkipFinding[] {
  const out: SkipFinding[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.split(SLOW_TAG).join('');
    for (const { what, pattern } of FORBIDDEN) {
      if (pattern.test(line)) out.push({ file, line: i + 1, what, text: raw.trim() });
    }
  });
  return out;
}

async function listTypeScript(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listTypeScript(path)));
    else if (entry.isFile() && entry.name.endsWith('.ts')) out.push(path);
  }
  return out.sort();
}

describe('findSkips (the detector itself)', () => {
  const ROWS: Array<{ text: string; what: string | null }> = [
    { text: `it.${'sk'}ip('x', () => {});`, what: 'skip' },
    { text: `test.${'sk'}ip.each([1])('x', () => {});`, what: 'skip' },
    { text: `describe.${'sk'}ip('x', () => {});`, what: 'skip' },
    { text: `  ctx.${'sk'}ip();`, what: 'skip' },
    { text: `it.${'sk'}ipIf(!root)('x', () => {});`, what: 'skip-if' },
    { text: `describe.${'sk'}ipIf(process.env.CI)('x', () => {});`, what: 'skip-if' },
    { text: `it.${'to'}do('later');`, what: 'todo' },
    { text: `describe.${'on'}ly('x', () => {});`, what: 'only' },
    { text: `x${'it'}('x', () => {});`, what: 'x-prefixed test' },
    { text: `it.${'run'}If(canMount)('x', () => {});`, what: 'run-if' },
    { text: `describe.${'run'}If(process.env.FLOTILLA_SLOW === '2')('x', () => {});`, what: 'run-if' },
    { text: `describe.${'run'}If(process.env.FLOTILLA_SLOW === '1')('slow', () => {});`, what: null },
    { text: `it('skips nothing: a skipped generation is re-staged', () => {});`, what: null },
    { text: `const onlyOnce = exit(1);`, what: null },
  ];
  it.each(ROWS)('$text → $what', ({ text, what }) => {
    const found = findSkips('test/x.test.ts', text);
    expect(found.map((f) => f.what)).toEqual(what === null ? [] : [what]);
    if (what !== null) expect(found[0]).toMatchObject({ file: 'test/x.test.ts', line: 1 });
  });
});

describe('the suite stays honest', () => {
  it('no file under test/ skips, todoes, focuses or conditionally runs a test (except the slow tag)', async () => {
    const files = await listTypeScript(TEST_ROOT);
    expect(files).toContain(join(TEST_ROOT, 'global-setup.ts'));
    expect(files.length).toBeGreaterThan(50);
    const findings: SkipFinding[] = [];
    for (const file of files) findings.push(...findSkips(relative('.', file), await readFile(file, 'utf8')));
    const report = findings.map((f) => `${f.file}:${f.line}: ${f.what}: ${f.text}`).join('\n');
    expect(report, `tests that may not run (CONTRIBUTING.md: the suite never skips):\n${report}`).toBe('');
  });
});
