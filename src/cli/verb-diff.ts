import type { Command } from './command.js';
import { stringList } from './command.js';
import { closeAll, openStoreList } from '../packages/cli-args.js';
import { diffClosures } from '../packages/diff-closures.js';
import { readClosureManifests } from '../fetch/read-closure.js';
import { UsageError } from '../errors/index.js';
import { isDigest } from '../store/digest.js';
import { closureArg } from './digest-arg.js';
import { diffNixPaths } from './nix-diff.js';

/** `flotilla diff A B --store URL`: packages and files that differ, and the bytes to fetch A → B. */
export const command: Command = {
  name: 'diff',
  summary: 'compare two closures: packages and files changed, sizes, bytes to fetch',
  usage: 'flotilla diff DIGEST_A DIGEST_B --store URL [--json]',
  description: `A and B may both be Nix store paths (/nix/store/HASH-NAME), read from the Nix binary caches among
--store (nix+file://, nix+https://, nix+s3://): the store paths added and removed, and the NarSize and
FileSize sums a machine holding A fetches for B. Signatures are not checked here (see verify).`,
  positionals: { min: 2, max: 2 },
  options: { store: { type: 'string', multiple: true, value: 'URL', help: 'store URL(s)' } },
  async run(input, ctx) {
    const ra = closureArg(input.positionals[0], 'DIGEST_A');
    const rb = closureArg(input.positionals[1], 'DIGEST_B');
    if (isDigest(ra) !== isDigest(rb)) throw new UsageError('diff compares two closures of one kind: two digests or two Nix store paths');
    if (!isDigest(ra) && !isDigest(rb)) return diffNixPaths(ra, rb, input, ctx);
    const stores = openStoreList(stringList(input, 'store'), ctx);
    try {
      const a = await readClosureManifests(stores, ra, { signal: ctx.signal });
      const b = await readClosureManifests(stores, rb, { signal: ctx.signal });
      const d = diffClosures(a.packages, b.packages);
      const lines = [
        ...d.added.map((p) => `+ ${p.name} ${p.digest}`),
        ...d.removed.map((p) => `- ${p.name} ${p.digest}`),
        ...d.changed.flatMap((c) => [
          `~ ${c.name} ${c.from} -> ${c.to}`,
          ...c.added.map((p) => `    + ${p}`),
          ...c.removed.map((p) => `    - ${p}`),
          ...c.changed.map((p) => `    ~ ${p}`),
        ]),
        `size ${d.sizeA} -> ${d.sizeB} bytes; fetching B on a machine holding A transfers ${d.bytesToFetch} bytes in ${d.objectsToFetch} object(s)`,
      ];
      return { exitCode: 0, text: lines.join('\n'), json: d };
    } finally {
      await closeAll(stores);
    }
  },
};
