import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/open-store.js';
import { runStoreContract } from './contract.js';

runStoreContract('directory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-fs-store-'));
  const store = openStore(dir);
  return { store, writer: store, cleanup: () => rm(dir, { recursive: true, force: true }) };
});
