import { isParseProblem } from '../../src/status/machine-status.js';
import { readSetStatuses } from '../../src/status/status-io.js';
import { openStore } from '../../src/store/open-store.js';

/** How many machines of `set` report Ready on `digest` in the store at `storeUrl`. */
export async function readyCount(storeUrl: string, set: string, digest: string): Promise<number> {
  const store = openStore(storeUrl);
  try {
    let n = 0;
    for (const [, s] of await readSetStatuses(store, set)) if (!isParseProblem(s) && s.currentDigest === digest && s.state === 'Ready') n++;
    return n;
  } finally {
    await store.close();
  }
}
