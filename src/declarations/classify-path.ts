/** What a repo path holds, as far as declarations are concerned. */
export type RepoFileKind =
  | { kind: 'config' }
  | { kind: 'set'; name: string }
  | { kind: 'machine'; name: string }
  | { kind: 'allowed-signers' }
  | { kind: 'misplaced'; reason: string }
  | { kind: 'other' };

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const YAML_EXT = /\.ya?ml$/;

/**
 * Classifies a repo path: flotilla.yaml, sets/NAME.yaml, machines/NAME.yaml (also .yml), allowed_signers.
 * YAML under sets/ or machines/ that cannot be a declaration (nested, bad name) is `misplaced`, so a typo
 * is reported instead of silently ignored. Anything else (README.md, CI files) is `other`.
 */
export function classifyPath(path: string): RepoFileKind {
  if (path === 'flotilla.yaml' || path === 'flotilla.yml') return { kind: 'config' };
  if (path === 'allowed_signers') return { kind: 'allowed-signers' };
  const m = /^(sets|machines)\/(.+)$/.exec(path);
  if (!m || !YAML_EXT.test(path)) return { kind: 'other' };
  const dir = m[1] as 'sets' | 'machines';
  const rest = m[2] ?? '';
  if (rest.includes('/')) return { kind: 'misplaced', reason: `${dir}/ is flat: move this file to ${dir}/${rest.split('/').pop() ?? ''}` };
  const name = rest.replace(YAML_EXT, '');
  if (!NAME_RE.test(name) || name.includes('..')) {
    return { kind: 'misplaced', reason: `"${name}" is not a valid name: 1-128 characters of A-Z a-z 0-9 . _ - starting with a letter or digit` };
  }
  return dir === 'sets' ? { kind: 'set', name } : { kind: 'machine', name };
}
