import { readdir, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors/index.js';
import { highWaterMarkFile } from '../../src/generations/layout.js';
import { readHighWaterMark, writeHighWaterMark } from '../../src/git/high-water-mark.js';
import { makeScratch, type Scratch } from '../helpers/git-repo.js';

const HIGH_WATER_MARK_FILE = 'repo-high-water-mark.json';

let scratch: Scratch;
beforeAll(async () => {
  scratch = await makeScratch('hwm');
});
afterAll(async () => scratch.cleanup());

describe('high-water mark', () => {
  it('is null when absent, then round-trips, leaving no temp files', async () => {
    const dir = join(scratch.path, 'a');
    const file = highWaterMarkFile(dir);
    expect(await readHighWaterMark(file)).toBeNull();
    await writeHighWaterMark(file, 'a'.repeat(40), 'main', new Date('2026-01-02T03:04:05Z'));
    await writeHighWaterMark(file, 'b'.repeat(40), 'main', new Date('2026-01-02T03:04:06Z'));
    expect(await readHighWaterMark(file)).toEqual({ commit: 'b'.repeat(40), recordedAt: '2026-01-02T03:04:06.000Z', branch: 'main' });
    expect(await readdir(dir)).toEqual([HIGH_WATER_MARK_FILE]);
  });

  it.each([
    ['empty', ''],
    ['truncated JSON', '{"commit": "aaaa'],
    ['short oid', '{"commit": "abc", "recordedAt": "x"}'],
    ['no time', `{"commit": "${'c'.repeat(40)}"}`],
    ['null', 'null'],
  ])('refuses a corrupt file (%s) with StateError', async (_name, text) => {
    const dir = join(scratch.path, `bad-${_name.replace(/\W/g, '')}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, HIGH_WATER_MARK_FILE), text);
    const err = await readHighWaterMark(highWaterMarkFile(dir)).catch((e: unknown) => e);
    expect(hasCode(err, 'StateError')).toBe(true);
    expect((err as { data: { file: string } }).data.file).toContain(HIGH_WATER_MARK_FILE);
  });

  it('refuses to record something that is not a commit id', async () => {
    const err = await writeHighWaterMark(highWaterMarkFile(join(scratch.path, 'c')), 'HEAD').catch((e: unknown) => e);
    expect(hasCode(err, 'StateError')).toBe(true);
  });
});
