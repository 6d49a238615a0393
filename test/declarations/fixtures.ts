// Small valid deploy repos for the declaration tests: each test changes one file and checks what breaks.

export const DIGEST_A = `sha256:${'a'.repeat(64)}`;
export const DIGEST_B = `sha256:${'b'.repeat(64)}`;
export const KEY_1 = 'ci-1:azSGjj7oBOpo/G28JEr5DdOHKAmB/GVYjoX5G17PmYo=';
export const KEY_2 = 'ci-2:xkQWYs9jmeCAoQnbgFIA5eaXd9sxKauEjVSXlOF9ACU=';

export const CONFIG = `stores:
  - /srv/store
publishers:
  keys:
    - ${KEY_1}
`;

/** A valid set file naming machines a, b, c. */
export function setYaml(extra = '', machines = '[a, b, c]'): string {
  return `closure: ${DIGEST_A}\nplatform: linux/amd64\nmachines: ${machines}\n${extra}`;
}

/** A repo: flotilla.yaml plus the given files (path → text). */
export function repo(files: Record<string, string>, config = CONFIG): Map<string, string> {
  return new Map(Object.entries({ 'flotilla.yaml': config, ...files }));
}
