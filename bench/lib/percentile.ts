/** The p-th percentile (0–100, nearest rank) of a non-empty list; 0 for an empty one. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((s.length * p) / 100) - 1))] ?? 0;
}

/** "median / p90" in ms with one decimal, for a table cell. */
export function medP90(xs: number[]): string {
  return `${percentile(xs, 50).toFixed(1)} / ${percentile(xs, 90).toFixed(1)}`;
}

/** PASS when `ok`, else MISS: the verdict column of a benchmark table. */
export function verdict(ok: boolean): string {
  return ok ? 'PASS' : 'MISS';
}
