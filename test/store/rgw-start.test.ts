import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { startRgw } from '../helpers/rgw.js';

describe('startRgw without Ceph', () => {
  it('fails loudly with how to get an S3 server, and leaves no temp dir behind', async () => {
    const before = new Set((await readdir(tmpdir())).filter((n) => n.startsWith('flotilla-rgw-')));
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent';
    let err: unknown;
    try {
      await startRgw({ deadlineMs: 10_000 });
    } catch (e) {
      err = e;
    } finally {
      process.env.PATH = saved;
    }
    const message = (err as Error | undefined)?.message ?? '';
    expect(message).toMatch(/monmaptool is not installed/);
    expect(message).toContain('bash scripts/install-test-deps.sh');
    expect(message).toContain('FLOTILLA_TEST_S3_ENDPOINT');
    const after = (await readdir(tmpdir())).filter((n) => n.startsWith('flotilla-rgw-') && !before.has(n));
    expect(after).toEqual([]);
  });
});
