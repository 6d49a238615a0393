import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

const repo = join(import.meta.dirname, '..', '..');

/**
 * Transpiles src/ (TypeScript → ESM JavaScript, no type check) into `outDir`, so a test can start real
 * child processes running the current sources without depending on a stale dist/. Returns the path of
 * outDir/src for `import()` in the child.
 */
export async function transpileSources(outDir: string): Promise<string> {
  const walk = async (dir: string): Promise<string[]> => {
    const out: string[] = [];
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) out.push(...(await walk(p)));
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
    }
    return out;
  };
  for (const file of await walk(join(repo, 'src'))) {
    const { outputText } = ts.transpileModule(await readFile(file, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    const target = join(outDir, relative(repo, file)).replace(/\.ts$/, '.js');
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, outputText);
  }
  await writeFile(join(outDir, 'package.json'), '{"type":"module"}');
  // The children import npm packages (pino…) by name: resolve them from the project's node_modules.
  await import('node:fs/promises').then((fs) => fs.symlink(join(repo, 'node_modules'), join(outDir, 'node_modules')));
  return join(outDir, 'src');
}
