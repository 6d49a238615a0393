import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCommitTrust } from '../../src/trust/commit-trust.js';
import { allowedSignersLine, makeSshKey, type SshKey } from '../helpers/ssh-keys.js';

describe('loadCommitTrust from the agent config files', () => {
  let dir: string;
  let release: SshKey;
  let forge: SshKey;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-trust-files-'));
    release = await makeSshKey(dir, 'release');
    forge = await makeSshKey(dir, 'forge');
    await writeFile(join(dir, 'signers'), `${allowedSignersLine(release)}\n`);
    await writeFile(join(dir, 'merge-signers'), `${allowedSignersLine(forge)}\n`);
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('loads the forge merge key apart from the pinned signers', async () => {
    const trust = await loadCommitTrust({ allowedSignersFile: join(dir, 'signers'), mergeAllowedSignersFile: join(dir, 'merge-signers') });
    expect(trust.sshSigners.map((s) => s.principals)).toEqual([[release.principal]]);
    expect(trust.mergeKeys?.sshSigners.map((s) => s.principals)).toEqual([[forge.principal]]);
  });

  it('refuses a missing merge key file with a KeyError naming it, never dropping the merge rule silently', async () => {
    const missing = join(dir, 'nope');
    await expect(loadCommitTrust({ allowedSignersFile: join(dir, 'signers'), mergeAllowedSignersFile: missing })).rejects.toMatchObject({ code: 'KeyError', data: { file: missing } });
  });

  it('refuses when no key is pinned at all', async () => {
    await expect(loadCommitTrust({ mergeAllowedSignersFile: join(dir, 'merge-signers') })).rejects.toMatchObject({ code: 'KeyError' });
  });
});
