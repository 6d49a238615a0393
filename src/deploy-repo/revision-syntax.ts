import { UsageError } from '../errors/index.js';

/** One step from a commit to a parent: `~N` (N first parents up) or `^N` (the Nth parent; `^0` is itself). */
export interface RevisionStep {
  kind: '~' | '^';
  n: number;
}

/** A revision as typed: a name (ref, full or short commit id, `HEAD`) and the parent steps after it. */
export interface Revision {
  name: string;
  steps: RevisionStep[];
}

// The subset of gitrevisions(7) people type: a name, then any run of `~`, `~N`, `^`, `^N`.
const SUFFIX_RE = /[~^][0-9]*/g;
const FORMS = 'a branch, tag, HEAD or commit id (4 to 40 hex digits), optionally followed by ~N or ^N (e.g. HEAD~1, main^2)';

/**
 * Splits `text` into its name and parent steps: `main~2^2` → { name: 'main', steps: [~2, ^2] }. `@` alone
 * means HEAD, as in git. Refuses with UsageError naming the revision what git accepts but we do not read
 * (ranges `a..b`, `^{type}`, `@{…}`, `:path`), an empty name, whitespace or control characters, and a step
 * count past 99,999.
 */
export function parseRevision(text: string): Revision {
  const cut = text.search(/[~^]/);
  const name = cut === -1 ? text : text.slice(0, cut);
  const suffix = cut === -1 ? '' : text.slice(cut);
  const refuse = (why: string): never => {
    throw new UsageError(`revision ${JSON.stringify(text)}: ${why}; give ${FORMS}`, { rev: text });
  };
  if (name === '') refuse('no name before the ~ or ^');
  if (/[\s\u0000-\u001f\u007f]/.test(text)) refuse('whitespace or control characters');
  if (name.includes('..') || name.includes(':') || name.includes('@{') || name.startsWith('-')) refuse('ranges, :path, @{…} and option-like names are not revisions here');
  if (suffix.replace(SUFFIX_RE, '') !== '') refuse('only ~N and ^N may follow the name (no ^{…})');
  const steps: RevisionStep[] = [];
  for (const [step] of suffix.matchAll(SUFFIX_RE)) {
    const digits = step.slice(1);
    if (digits.length > 5) refuse(`${step} is too many steps`);
    steps.push({ kind: step[0] as '~' | '^', n: digits === '' ? 1 : Number(digits) });
  }
  return { name: name === '@' ? 'HEAD' : name, steps };
}
