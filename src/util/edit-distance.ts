/**
 * The Damerau-Levenshtein distance (optimal string alignment) between `a` and `b`: insertions, deletions,
 * substitutions and swaps of neighbours each cost 1, so "stauts" is 1 from "status". O(|a|·|b|).
 */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => rows[i]?.[j] ?? Infinity;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, at(i - 2, j - 2) + 1);
      rows[i]![j] = d;
    }
  }
  return at(a.length, b.length);
}

/**
 * The candidate closest to `word` for a "did you mean" hint, or undefined when none is close: within a third
 * of the word's length (at least 1), or the only candidate `word` is a prefix of. Ties go to the earlier one.
 */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(1, Math.floor(word.length / 3));
  let best: { name: string; d: number } | undefined;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d <= limit && (best === undefined || d < best.d)) best = { name: c, d };
  }
  if (best) return best.name;
  const prefixed = candidates.filter((c) => word.length > 0 && c.startsWith(word));
  return prefixed.length === 1 ? prefixed[0] : undefined;
}
