// The folders of src/ are layers, in the order CONTRIBUTING.md's Layout section lists them (top first). A file
// may import from its own folder and from folders below it; an upward import is also how every cycle between
// folders starts, so refusing upward imports keeps the folder graph a DAG. Type-only imports count too: a
// type is part of the layer it lives in. This reads the TypeScript sources, so it needs no build.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve('.');
const SRC = join(ROOT, 'src');

/**
 * Upward imports known and scheduled for removal: "file -> specifier". Keep this empty once they are gone;
 * a listed edge that no longer exists fails the suite so the list cannot rot.
 */
const ALLOWED: ReadonlySet<string> = new Set<string>([]);

/** The `src/NAME/` folders of CONTRIBUTING.md's Layout section, top layer first. */
export function layersFrom(contributing: string): string[] {
  const start = contributing.indexOf('## Layout');
  const section = contributing.slice(start, contributing.indexOf('\n## ', start + 1));
  return [...section.matchAll(/^src\/([a-z0-9-]+)\/\s/gm)].map((m) => m[1]!);
}

/** Relative specifiers of one TypeScript file: import/export … from, bare import, import(), import type. */
export function relativeImports(source: string): string[] {
  return [...source.matchAll(/\b(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!);
}

/** One refused edge, as the failure message shows it. */
export interface Violation {
  file: string;
  specifier: string;
  message: string;
}

/**
 * Every import in `files` (path under the repo → source) that leaves its folder for a folder not below it in
 * `layers` (top first), or for a folder `layers` does not know. Edges in `allowed` ("file -> specifier") pass.
 */
export function layerViolations(files: ReadonlyMap<string, string>, layers: readonly string[], allowed: ReadonlySet<string> = new Set()): Violation[] {
  const rank = new Map(layers.map((name, i) => [name, i] as const));
  const folderOf = (path: string): string => path.split('/')[1] ?? '';
  const out: Violation[] = [];
  for (const [file, source] of files) {
    const from = folderOf(file);
    for (const specifier of relativeImports(source)) {
      const target = relative(ROOT, resolve(ROOT, dirname(file), specifier)).split(sep).join('/');
      const to = folderOf(target);
      if (to === from || !target.startsWith('src/') || allowed.has(`${file} -> ${specifier}`)) continue;
      const [a, b] = [rank.get(from), rank.get(to)];
      if (a === undefined || b === undefined) {
        const unknown = a === undefined ? from : to;
        out.push({ file, specifier, message: `${file} imports '${specifier}': src/${unknown}/ is not in CONTRIBUTING.md's Layout; add it there at its layer` });
      } else if (b <= a) {
        out.push({ file, specifier, message: `${file} imports '${specifier}': ${from}/ may not import from ${to}/, which is above it in CONTRIBUTING.md's Layout` });
      }
    }
  }
  return out;
}

function sourcesUnder(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const path = join(entry.parentPath, entry.name);
    out.set(relative(ROOT, path).split(sep).join('/'), readFileSync(path, 'utf8'));
  }
  return out;
}

describe('layering of src/ folders', () => {
  const layers = ['cli', 'rollout', 'store'];
  const table: Array<{ name: string; file: string; source: string; refused: boolean; allowed?: string[] }> = [
    { name: 'downward import', file: 'src/rollout/a.ts', source: `import { x } from '../store/x.js';`, refused: false },
    { name: 'same folder', file: 'src/rollout/a.ts', source: `import { b } from './b.js';`, refused: false },
    { name: 'package import', file: 'src/store/a.ts', source: `import { join } from 'node:path';\nimport YAML from 'yaml';`, refused: false },
    { name: 'upward import', file: 'src/store/a.ts', source: `import { x } from '../rollout/x.js';`, refused: true },
    { name: 'upward type-only import', file: 'src/store/a.ts', source: `import type { X } from '../rollout/x.js';`, refused: true },
    { name: 'upward re-export', file: 'src/store/a.ts', source: `export { x } from '../rollout/x.js';`, refused: true },
    { name: 'upward multi-line import', file: 'src/store/a.ts', source: `import {\n  x,\n  y,\n} from '../rollout/x.js';`, refused: true },
    { name: 'upward dynamic import', file: 'src/rollout/a.ts', source: `const m = await import('../cli/verb.js');`, refused: true },
    { name: 'folder missing from the layout', file: 'src/rollout/a.ts', source: `import { x } from '../ghost/x.js';`, refused: true },
    { name: 'listed exception', file: 'src/store/a.ts', source: `import { x } from '../rollout/x.js';`, refused: false, allowed: ['src/store/a.ts -> ../rollout/x.js'] },
  ];
  for (const t of table) {
    it(`${t.refused ? 'refuses' : 'accepts'} a ${t.name}`, () => {
      const found = layerViolations(new Map([[t.file, t.source]]), layers, new Set(t.allowed ?? []));
      expect(found.length).toBe(t.refused ? 1 : 0);
      if (t.refused) expect(found[0]!.message).toContain(t.file);
    });
  }

  it('names the file and the import in the message', () => {
    const [v] = layerViolations(new Map([['src/store/a.ts', `import { x } from '../rollout/x.js';`]]), layers);
    expect(v?.message).toBe(`src/store/a.ts imports '../rollout/x.js': store/ may not import from rollout/, which is above it in CONTRIBUTING.md's Layout`);
  });

  const contributing = readFileSync(join(ROOT, 'CONTRIBUTING.md'), 'utf8');
  const order = layersFrom(contributing);

  it("CONTRIBUTING.md's Layout lists every folder of src/ exactly once", () => {
    const real = readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    expect([...order].sort()).toEqual(real);
    expect(new Set(order).size).toBe(order.length);
  });

  it('no file of src/ imports from a folder above its own', () => {
    const found = layerViolations(sourcesUnder(SRC), order, ALLOWED);
    expect(found.map((v) => v.message)).toEqual([]);
  });

  it('every allowed exception still exists (remove it from ALLOWED once the edge is gone)', () => {
    const sources = sourcesUnder(SRC);
    const stale = [...ALLOWED].filter((edge) => {
      const [file, specifier] = edge.split(' -> ');
      return !relativeImports(sources.get(file!) ?? '').includes(specifier!);
    });
    expect(stale).toEqual([]);
  });
});
