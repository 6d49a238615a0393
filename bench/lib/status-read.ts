// The gate's biggest read, measured alone: every status file of a set, as readSetStatuses does it (list,
// then one get at a time), beside the same gets issued concurrently (what the store itself allows).
import { readSetStatuses } from '../../src/status/status-io.js';
import { statusPrefix } from '../../src/store/keys.js';
import { openStore } from '../../src/store/open-store.js';
import { listAll } from '../../src/store/store.js';
import { timeMs } from './noop-tick.js';

/** Median-ready samples (ms) of `runs` sequential readSetStatuses and of list + concurrent gets of the same keys. */
export async function measureStatusRead(storeUrl: string, set: string, runs: number): Promise<{ sequential: number[]; concurrent: number[]; files: number }> {
  const store = openStore(storeUrl);
  try {
    const files = (await readSetStatuses(store, set)).size;
    const sequential = await timeMs(runs, () => readSetStatuses(store, set));
    const concurrent = await timeMs(runs, async () => {
      const keys: string[] = [];
      for await (const info of listAll(store, statusPrefix(set))) keys.push(info.key);
      await Promise.all(keys.map((k) => store.getBytes(k, { maxBytes: 64 * 1024 })));
    });
    return { sequential, concurrent, files };
  } finally {
    await store.close();
  }
}
