import type { Command } from './command.js';
import { stringList } from './command.js';
import { closeAll, openStoreList } from '../packages/cli-args.js';
import { diffClosures } from '../packages/diff-closures.js';
import { readClosureManifests } from '../fetch/read-closure.js';
import { digestArg } from './digest-arg.js';

/** `flotilla diff A B --store URL`: packages and files that differ, and the bytes to fetch A → B. */
export const command: Command = {
  name: 'diff',
  summary: 'compare two closures: packages and files changed, sizes, bytes to fetch',
  usage: 'flotilla diff DIGEST_A DIGEST_B --store URL [--json]',
  positionals: { min: 2, max: 2 },
  options: { store: { type: 'string', multiple: true, value: 'URL', help: 'store URL(s)' } },
  async run(input, ctx) {
    const stores = openStoreList(stringList(input, 'store'), ctx);
    try {
      const a = await readClosureManifests(stores, digestArg(input.positionals[0], 'DIGEST_A'), { signal: ctx.signal });
      const b = await readClosureManifests(stores, digestArg(input.positionals[1], 'DIGEST_B'), { signal: ctx.signal });
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
