import { describe, expect, it } from 'vitest';
import { runCliInProcess } from '../helpers/cli-in-process.js';

const run = (argv: string[]): Promise<{ code: number; out: string; err: string }> => runCliInProcess(argv);

describe('cli main', () => {
  it('prints the command list for --help and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('usage: flotilla <command>');
  });

  it('exits 2 with a usage error for an unknown verb', async () => {
    const r = await run(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('UsageError');
    expect(r.err).toContain('frobnicate');
  });

  it('reports a usage error as JSON with --json', async () => {
    const r = await run(['frobnicate', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out)).toMatchObject({ ok: false, error: { code: 'UsageError' } });
  });
});
