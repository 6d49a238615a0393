import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closuresInHistory } from '../../src/deploy-repo/index.js';
import { CONFIG, DIGEST_A, DIGEST_B, setYaml } from '../declarations/fixtures.js';
import { createTestRepo, makeScratch, type Scratch, type TestRepo } from '../helpers/git-repo.js';

let scratch: Scratch;
let repo: TestRepo;
let head: string;

beforeAll(async () => {
  scratch = await makeScratch('history-closures');
  repo = await createTestRepo(scratch.path);
  await repo.commit({ files: { 'flotilla.yaml': CONFIG, 'sets/web.yaml': setYaml() } });
  // Well-formed YAML naming a third closure, but not a valid set: it never deployed, so it is no root.
  await repo.commit({ files: { 'sets/web.yaml': `closure: sha256:${'c'.repeat(64)}\nmachines: 5\n` } });
  head = await repo.commit({ files: { 'sets/web.yaml': setYaml().replace(DIGEST_A, DIGEST_B) } });
});
afterAll(async () => scratch.cleanup());

describe('closuresInHistory', () => {
  it.each([
    [1, [DIGEST_B]],
    [2, [DIGEST_B]],
    [3, [DIGEST_A, DIGEST_B]],
  ])('the last %i commit(s): every closure declared, sorted; the invalid commit in between is skipped', async (depth, want) => {
    expect(await closuresInHistory(repo.gitdir, head, depth)).toEqual(want);
  });
});
