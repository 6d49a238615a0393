import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { buildManifest } from '../../src/packages/build-manifest.js';
import { makeTempDir } from '../helpers/package-fixtures.js';
import { generateTree } from '../helpers/tree-gen.js';

const schema = JSON.parse(readFileSync('schemas/manifest.schema.json', 'utf8')) as object;
const validate = new Ajv2020({ strict: false }).compile(schema);
const D = `sha256:${'0'.repeat(64)}`;

describe('schemas/manifest.schema.json', () => {
  it('accepts the manifest push builds for a generated tree', async () => {
    const t = await makeTempDir();
    try {
      await generateTree(t.dir, { seed: 9, files: 30, minSize: 1, maxSize: 10_000, symlinks: 4, unicode: true, executableRatio: 0.3 });
      const built = await buildManifest(t.dir, { name: 'app', provenance: { 'git.commit': 'abc' } });
      expect(validate(JSON.parse(built.bytes.toString()))).toBe(true);
    } finally {
      await t.cleanup();
    }
  });

  it.each([
    ['a ../ path', { type: 'file', path: '../x', size: 1, digest: D, executable: false }],
    ['an absolute path', { type: 'dir', path: '/etc' }],
    ['a drive path', { type: 'dir', path: 'C:x' }],
    ['a . segment', { type: 'dir', path: 'a/./b' }],
    ['a backslash', { type: 'dir', path: 'a\\b' }],
    ['a device', { type: 'chardev', path: 'null' }],
    ['another hash algorithm', { type: 'file', path: 'x', size: 1, digest: `sha512:${'0'.repeat(128)}`, executable: false }],
    ['a mode field', { type: 'file', path: 'x', size: 1, digest: D, executable: false, mode: 2541 }],
    ['an absolute link', { type: 'symlink', path: 'x', target: '/etc/passwd' }],
  ])('refuses %s', (_name, entry) => {
    expect(validate({ format: 1, name: 'app', entries: [entry], references: [], provenance: {} })).toBe(false);
  });
});
