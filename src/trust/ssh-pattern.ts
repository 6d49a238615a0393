/** Matches `value` against one OpenSSH wildcard pattern (`*` any run, `?` one character). */
export function matchSshPattern(value: string, pattern: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's');
  return re.test(value);
}

/**
 * OpenSSH's match_pattern_list: `list` is comma-separated patterns, `!pattern` negates. A negated match
 * wins over any positive one; with no positive match the answer is false.
 */
export function matchSshPatternList(value: string, list: string[]): boolean {
  let matched = false;
  for (const raw of list) {
    const negated = raw.startsWith('!');
    const pattern = negated ? raw.slice(1) : raw;
    if (!matchSshPattern(value, pattern)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}
