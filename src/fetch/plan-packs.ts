import type { LoadedManifest } from '../packages/manifest-types.js';
import { MAX_PACK_HINT_BYTES, packableObjects, parsePackHint } from '../packages/pack-format.js';
import type { Digest } from '../store/digest.js';
import { packHintKey } from '../store/keys.js';
import type { Store } from '../store/store.js';
import { runPool } from '../util/run-pool.js';
import type { PackJob } from './fetch-pack.js';

/**
 * Which packs a fetch uses, from `store` (the first mirror). Only a package that lacks at least half of
 * its objects' bytes (a cold one) costs a request for its hint, so an incremental fetch asks for none;
 * a pack is used when at least half of its bytes are objects still wanted and not claimed by an earlier
 * pack. A missing, unreadable or malformed hint means no packs for that package (stores pushed before
 * packs existed have none): only an abort is thrown. Every wanted object is claimed by at most one job.
 * `early`: hints already asked for (readPackHint), used in place of a request of their own.
 */
export async function planPacks(store: Store, todo: readonly LoadedManifest[], missing: ReadonlyMap<Digest, number>, signal?: AbortSignal, early?: ReadonlyMap<Digest, Promise<Buffer>>): Promise<PackJob[]> {
  const candidates = todo
    .map((p) => ({ p, objects: packableObjects(p.manifest) }))
    .filter(({ objects }) => {
      const total = objects.reduce((a, o) => a + o.size, 0);
      const lacking = objects.reduce((a, o) => a + (missing.has(o.digest) ? o.size : 0), 0);
      return objects.length >= 2 && lacking > 0 && lacking * 2 >= total;
    });
  const hints = await runPool(candidates, 16, async ({ p, objects }) => {
    try {
      const bytes = await (early?.get(p.digest) ?? readPackHint(store, p.digest, signal));
      return parsePackHint(bytes, p.digest, objects.length);
    } catch (err) {
      if (signal?.aborted === true) throw err;
      return undefined;
    }
  });
  const claimed = new Set<Digest>();
  const jobs: PackJob[] = [];
  candidates.forEach(({ objects }, k) => {
    for (const ref of hints[k]?.packs ?? []) {
      const entries = objects.slice(ref.first, ref.first + ref.count);
      const wanted = entries.filter((e) => missing.has(e.digest) && !claimed.has(e.digest));
      const wantedBytes = wanted.reduce((a, e) => a + e.size, 0);
      if (wanted.length === 0 || wantedBytes * 2 < entries.reduce((a, e) => a + e.size, 0)) continue;
      for (const e of wanted) claimed.add(e.digest);
      jobs.push({ digest: ref.digest, entries, wanted: new Set(wanted.map((e) => e.digest)) });
    }
  });
  return jobs;
}

/** The bytes of package `digest`'s pack hint in `store`, unparsed (planPacks parses them). */
export function readPackHint(store: Store, digest: Digest, signal?: AbortSignal): Promise<Buffer> {
  return store.getBytes(packHintKey(digest), { maxBytes: MAX_PACK_HINT_BYTES, ...(signal ? { signal } : {}) });
}
