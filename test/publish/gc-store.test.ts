import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gcStore } from '../../src/publish/gc-store.js';
import { pushDirectory } from '../../src/publish/push-directory.js';
import type { Digest } from '../../src/store/digest.js';
import { objectKey, packHintKey, pinKey } from '../../src/store/keys.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { promoteManifest } from '../../src/trust/manifest-publish.js';
import { makeKeyPair, makeTempDir } from '../helpers/package-fixtures.js';

describe('store GC', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let store: Store;
  const digests: Record<string, Digest> = {};
  // Each package's one pack (its two objects), read from its hint.
  const packs: Record<string, Digest> = {};
  const key = makeKeyPair('gc-1');
  const later = new Date(Date.now() + 48 * 3600_000);
  beforeAll(async () => {
    t = await makeTempDir();
    store = openStore(join(t.dir, 'store'));
    for (const name of ['pinned', 'promoted', 'revoked', 'orphan']) {
      await mkdir(join(t.dir, name));
      await writeFile(join(t.dir, name, 'big.bin'), Buffer.alloc(10_000, name.length));
      await writeFile(join(t.dir, name, `${name}.bin`), Buffer.alloc(5_000, name.charCodeAt(0)));
      digests[name] = (await pushDirectory(store, join(t.dir, name), { name, signKeys: [key.secret] })).digest;
      const hint = JSON.parse((await store.getBytes(packHintKey(digests[name]), { maxBytes: 1 << 20 })).toString('utf8')) as { packs: Array<{ digest: Digest }> };
      packs[name] = hint.packs[0]!.digest;
    }
    await store.put(pinKey('release-1'), Buffer.from(`${digests['pinned']}\n`));
    await promoteManifest(store, digests['promoted']!, key.secret);
    await promoteManifest(store, digests['revoked']!, key.secret, { revoke: true });
  });
  afterAll(async () => t.cleanup());

  const exists = async (d: Digest): Promise<boolean> => store.head(objectKey(d)).then(() => true, () => false);

  it('keeps everything younger than the grace period', async () => {
    const r = await gcStore(store, { olderThanMs: 24 * 3600_000 });
    expect(r.deleted).toEqual([]);
    expect(r.keptYoung).toBeGreaterThan(0);
  });

  it('dry run lists the unreachable keys and deletes nothing', async () => {
    const r = await gcStore(store, { olderThanMs: 24 * 3600_000, now: later, dryRun: true });
    expect(r.deleted).toContain(objectKey(digests['orphan']!));
    expect(await exists(digests['orphan']!)).toBe(true);
  });

  it('deletes the closures of orphan and revoked packages, keeps pinned, promoted and extra roots', async () => {
    const r = await gcStore(store, { olderThanMs: 24 * 3600_000, now: later, extraRoots: [digests['revoked']!] });
    expect(r.roots.sort()).toEqual([digests['pinned'], digests['promoted'], digests['revoked']].sort());
    expect(await exists(digests['orphan']!)).toBe(false);
    for (const k of ['pinned', 'promoted', 'revoked']) expect(await exists(digests[k]!)).toBe(true);
    expect(r.deleted.some((k) => k.startsWith('signatures/'))).toBe(true);
    // A live manifest keeps its hint and packs; a dead one loses both.
    expect(r.deleted).toContain(packHintKey(digests['orphan']!));
    expect(await exists(packs['orphan']!)).toBe(false);
    for (const k of ['pinned', 'promoted', 'revoked']) {
      expect(await exists(packs[k]!)).toBe(true);
      await expect(store.head(packHintKey(digests[k]!))).resolves.toBeDefined();
    }
    const again = await gcStore(store, { olderThanMs: 24 * 3600_000, now: later });
    expect(again.deleted).toContain(objectKey(digests['revoked']!));
  });

  it('refuses to collect anything when a pin holds garbage', async () => {
    await store.put(pinKey('broken'), Buffer.from('not a digest'));
    await expect(gcStore(store, { olderThanMs: 0 })).rejects.toMatchObject({ code: 'PreconditionFailedError' });
    await store.delete(pinKey('broken'));
  });
});
