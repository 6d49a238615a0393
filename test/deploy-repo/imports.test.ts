// The layering of deploy-repo, checked on the sources: it sits above git/, trust/ and declarations/ and below
// the code that uses it, which goes through its one public file.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve('src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? sources(path) : e.name.endsWith('.ts') ? [path] : [];
  });
}

/** Each relative import of every source file, as a path under src/ without extension (e.g. `cli/command`). */
const edges = sources(SRC).flatMap((file) => {
  const from = relative(SRC, file).replace(/\.ts$/, '');
  return [...readFileSync(file, 'utf8').matchAll(/\bfrom\s+'(\.[^']+)'/g)].map((m) => ({
    from,
    to: relative(SRC, resolve(dirname(file), m[1]!)).replace(/\.js$/, ''),
  }));
});

const area = (path: string): string => path.split('/')[0]!;

describe('deploy-repo layering', () => {
  it('finds the imports it checks', () => {
    expect(edges.filter((e) => e.to === 'deploy-repo/index').length).toBeGreaterThanOrEqual(6);
  });

  it('deploy-repo imports nothing from the code above it', () => {
    const up = edges.filter((e) => area(e.from) === 'deploy-repo' && ['reconcile', 'plan', 'bump', 'cli', 'agent'].includes(area(e.to)));
    expect(up).toEqual([]);
  });

  it('callers use deploy-repo through index.ts only', () => {
    const around = edges.filter((e) => area(e.from) !== 'deploy-repo' && area(e.to) === 'deploy-repo' && e.to !== 'deploy-repo/index');
    expect(around).toEqual([]);
  });

  it('plan does not import from cli', () => {
    expect(edges.filter((e) => area(e.from) === 'plan' && area(e.to) === 'cli')).toEqual([]);
  });
});
