// The daemon's supervisor stays small only if it never loads the tick code. This walks the static import
// graph of the built CLI entry and the supervisor (dynamic import() calls are the lazy edges: the verb
// loads the supervisor, the worker and --once load the tick code) and fails on any heavy package.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const DIST = resolve('dist/src');
const HEAVY = /^(isomorphic-git|yaml|ajv|ajv-formats|openpgp|@aws-sdk\/.*|chokidar)(\/|$)/;

/** Static import specifiers of one compiled ES module (import … from, export … from, bare import). */
export function staticImports(source: string): string[] {
  const out: string[] = [];
  // `import(` is a dynamic import and is deliberately not matched: the keyword must be followed by a
  // space, `{`, `*` or a quote.
  const re = /(?:^|[;\n}])\s*(?:import|export)\s*(?:[\w*{}\s,$]+?\s*from\s*)?["']([^"']+)["']/g;
  for (const m of source.matchAll(re)) out.push(m[1]!);
  return out;
}

/** Every module reachable from `entry` through static imports: our files and the bare packages. */
function walk(entry: string): { files: Set<string>; packages: Map<string, string> } {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const spec of staticImports(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) todo.push(resolve(dirname(file), spec));
      else if (!spec.startsWith('node:')) packages.set(spec, relative(DIST, file));
    }
  }
  return { files, packages };
}

describe('the daemon supervisor loads no tick code', () => {
  it('finds static imports and ignores dynamic ones', () => {
    const src = `import { a } from './a.js';\nimport * as b from "b";\nimport 'c';\nexport { d } from './d.js';\nconst e = await import('./e.js');\nimport type_ from 'f';\n`;
    expect(staticImports(src)).toEqual(['./a.js', 'b', 'c', './d.js', 'f']);
  });

  it('the walk sees a heavy package when one is statically imported (the check can fail)', () => {
    const { packages } = walk(join(DIST, 'agent', 'run-agent.js'));
    expect([...packages.keys()].some((p) => HEAVY.test(p))).toBe(true);
  });

  for (const entry of ['cli/main.js', 'cli/verb-agent.js', 'agent/supervisor.js']) {
    it(`${entry} reaches no heavy package and nothing in src/reconcile`, () => {
      const file = join(DIST, entry);
      expect(existsSync(file), 'run `npx tsc -p tsconfig.build.json` first').toBe(true);
      const { files, packages } = walk(file);
      const heavy = [...packages].filter(([p]) => HEAVY.test(p)).map(([p, from]) => `${p} (from ${from})`);
      expect(heavy).toEqual([]);
      const reconcile = [...files].map((f) => relative(DIST, f)).filter((f) => f.startsWith('reconcile/') || f.startsWith('rollout/') || f.startsWith('trust/') || f.startsWith('fetch/'));
      expect(reconcile).toEqual([]);
      // The supervisor does reach what it needs: the triggers, the queue and the worker client.
      if (entry === 'agent/supervisor.js') {
        expect([...files].map((f) => relative(DIST, f))).toEqual(expect.arrayContaining(['agent/triggers.js', 'agent/single-flight.js', 'agent/worker-client.js']));
      }
    });
  }
});
