import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/open-store.js';
import { startHttpStoreServer } from '../helpers/http-store-server.js';
import { runStoreContract } from './contract.js';

// The read side: objects are written through a directory store on the root the server serves.
runStoreContract('http (read side)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-http-store-'));
  const server = await startHttpStoreServer(dir);
  const store = openStore(server.url);
  return {
    store,
    writer: openStore(dir),
    cleanup: async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
