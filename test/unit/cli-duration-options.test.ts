import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/deploy-world.js';
import { makeTempDir } from '../helpers/package-fixtures.js';
import { dataOf } from '../helpers/cli-json.js';

async function listTree(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

// The built CLI as a process: a duration option that is not a duration exits 2 naming the option and the
// value, and nothing is collected or read.
describe('duration options of the built CLI', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let store: string;
  beforeAll(async () => {
    t = await makeTempDir();
    store = join(t.dir, 'store');
    await mkdir(join(t.dir, 'app'));
    await writeFile(join(t.dir, 'app', 'a.txt'), 'nobody pins this package, so gc --older-than 0s would delete it\n');
    const push = await runCli(['push', 'app', '--store', store, '--name', 'app'], { cwd: t.dir });
    expect(push.code, push.stderr).toBe(0);
  });
  afterAll(async () => t.cleanup());

  it.each([
    [['gc', '--store', 'STORE', '--older-than', '24'], '--older-than: "24" has no unit; write e.g. 24s or 24m'],
    [['gc', '--store', 'STORE', '--older-than', '1h1h'], '--older-than: "1h1h" is not a duration; write e.g. 500ms, 30s, 5m, 1h30m or 2d'],
    [['gc', '--store', 'STORE', '--older-than', ''], '--older-than: "" is not a duration'],
    [['status', '--store', 'STORE', '--stale-after', 'soon'], '--stale-after: "soon" is not a duration; write e.g. 500ms, 30s, 5m, 1h30m or 2d'],
    [['status', '--store', 'STORE', '--stale-after', '600'], '--stale-after: "600" has no unit; write e.g. 600s or 600m'],
    [['status', '--store', 'STORE', '--watch', '--interval', '2'], '--interval: "2" has no unit'],
  ])('flotilla %j exits 2 with a UsageError and changes nothing', async (args, message) => {
    const before = await listTree(store);
    const r = await runCli(args.map((a) => (a === 'STORE' ? store : a)), { cwd: t.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`flotilla: UsageError: ${message}`);
    expect(await listTree(store)).toEqual(before);
  });

  it('compound durations are accepted where a single unit was before (gc --older-than 1h30m keeps the young package)', async () => {
    const before = await listTree(store);
    const r = await runCli(['gc', '--store', store, '--older-than', '1h30m', '--json'], { cwd: t.dir });
    expect(r.code, r.stderr).toBe(0);
    expect((dataOf<{ store: { deleted: string[] } }>(r.stdout)).store.deleted).toEqual([]);
    expect(await listTree(store)).toEqual(before);
    // The same store with a zero grace period loses the package: the no-change assertions above can fail.
    const zero = await runCli(['gc', '--store', store, '--older-than', '0s', '--json'], { cwd: t.dir });
    expect((dataOf<{ store: { deleted: string[] } }>(zero.stdout)).store.deleted.length).toBeGreaterThan(0);
  });
});
