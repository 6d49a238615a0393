import { resolve } from 'node:path';
import { fsckStateDir } from '../fetch/fsck.js';
import type { FsckReport } from '../fetch/fsck-types.js';
import { resolveStateDir } from '../generations/layout.js';
import { checkName } from '../store/keys.js';
import { stringList, stringOption, type Command } from './command.js';

function render(r: FsckReport): string {
  const c = r.checked;
  const nix = c.nixPaths + c.nixUnrecorded > 0 ? `, ${c.nixPaths} Nix store path(s)${c.nixUnrecorded > 0 ? ` (${c.nixUnrecorded} more with no NarHash on record, not checked)` : ''}` : '';
  const lines = [`checked ${c.generations} generation(s), ${c.packages} package(s) with ${c.files} file(s), ${c.objects} object(s)${nix} in ${r.stateDir}`];
  if (r.damaged.length === 0) return [...lines, 'no damage found'].join('\n');
  lines.push(`${r.damaged.length} damaged:`);
  for (const d of r.damaged) lines.push(`  ${d.kind} ${d.path}: ${d.problem}${d.expected !== undefined ? `\n    expected ${d.expected}\n    actual   ${d.actual ?? '?'}` : ''}`);
  if (r.repair.length > 0) {
    lines.push('affected generations; repair each closure with `flotilla fetch DIGEST|/nix/store/… --state DIR --store URL --trust … --repair`:');
    for (const h of r.repair) lines.push(`  ${h.set} generation ${h.generation}: ${h.digest}`);
  }
  return lines.join('\n');
}

/** `flotilla fsck --state DIR`: re-hashes a machine's state dir against its names and manifests. */
export const command: Command = {
  name: 'fsck',
  summary: 'check a machine\'s state dir: re-hash every object, package, Nix store path and generation; exit 1 when damaged',
  usage: 'flotilla fsck [--state DIR] [--set SET]... [--json]',
  description: `Like \`nix store verify\` or \`ostree fsck\`: every cached object (objects/sha256/…) is re-hashed against
its name; every materialised package (store/<hex>-<name>/) is compared with its manifest (kind, size, sha256,
x bit and symlink target of each entry, nothing extra); every Nix store path a generation uses is
re-serialised as a NAR and its hash compared with the NarHash recorded from the signed narinfo when it was
fetched (or, for older generations, Nix's own registration); every generation's origin.json, package links
and the set's current link are checked. Each damaged item is named with what was expected and what was found,
with the generations that use it. With --set, only those sets' generations and the packages and objects
they use. Reads only, takes no lock (run it while the agent is idle for a quiet answer).
Exit 0 when nothing is damaged, 1 when something is: \`flotilla fetch DIGEST --repair\` (or the Nix store path)
places it again.`,
  options: {
    state: { type: 'string', value: 'DIR', help: 'the state dir (default $FLOTILLA_STATE_DIR or /var/lib/flotilla)' },
    set: { type: 'string', multiple: true, value: 'SET', help: 'check only this set\'s generations and what they use' },
  },
  async run(input, ctx) {
    const stateDir = resolve(ctx.cwd, resolveStateDir(stringOption(input, 'state'), ctx.env));
    const sets = stringList(input, 'set').map((s) => checkName(s, 'set name'));
    const report = await fsckStateDir(stateDir, sets.length > 0 ? { sets } : {});
    const ok = report.damaged.length === 0;
    return { exitCode: ok ? 0 : 1, text: render(report), json: { ok, ...report } };
  },
};
