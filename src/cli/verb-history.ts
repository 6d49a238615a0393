import { readVerifiedHistory, type SetHistory } from '../history/verify-set-history.js';
import { closeAll } from '../packages/cli-args.js';
import { displayClosure, type ClosureRef } from '../store/closure-ref.js';
import { checkName } from '../store/keys.js';
import { stringOption, type Command } from './command.js';
import { openPauseTarget, PAUSE_TARGET_OPTIONS } from './pause-target.js';

function shown(ref: ClosureRef | null): string {
  return ref === null ? '-' : displayClosure(ref);
}

function render(h: SetHistory, store: string): string {
  const lines = [`deployment log of set ${h.set} in ${store}: ${h.timeline.length} record(s) from ${h.machines.length} machine(s), oldest first`];
  for (const { record: r, verified } of h.timeline) {
    const change = r.event === 'quarantine' ? `quarantined ${shown(r.from)}` : `${shown(r.from)} -> ${shown(r.to)}`;
    const gen = r.generation === null ? '' : ` gen ${r.generation}`;
    lines.push(`${r.time}  ${r.machine}#${r.seq}  ${r.event.padEnd(10)} ${change}${gen}  commit ${r.commit?.slice(0, 12) ?? '-'}  ${r.reason}${verified ? '' : '  UNVERIFIED'}`);
  }
  if (h.ok) {
    lines.push(h.timeline.length === 0 ? 'no records yet' : 'every record verified: signatures by the keys the machines list, chains unbroken');
    return lines.join('\n');
  }
  lines.push(`${h.problems.length} problem(s): the log was tampered with, is damaged, or cannot be verified:`);
  for (const p of h.problems) lines.push(`  ${p.kind} ${p.machine}${p.seq === null ? '' : ` #${p.seq}`}: ${p.message} (${p.where})`);
  return lines.join('\n');
}

/** `flotilla history SET`: the set's signed, hash-chained deployment log, verified, oldest first. */
export const command: Command = {
  name: 'history',
  summary: 'which closure ran where, when, from which commit: the verified deployment log of a set',
  usage: 'flotilla history SET [--machine M] [--repo DIR|URL] [--store URL] [--json]',
  description: `Every switch, rollback, quarantine and pause a machine observes is appended by its agent to
history/SET/MACHINE/ in the store: one record per event, numbered, each naming the hash of the one before
and signed with the machine's own ed25519 key (made in its state dir at its first tick and listed in its
status report). This lists the records of every machine of SET (or of --machine M), oldest first, with the
closures before and after, the generation, the commit and the reason. Each record's signature is checked
against the key the machine lists in status/SET/MACHINE.json, and each chain link against the record
before it, across compacted segments. A missing, moved, edited or foreign-signed record is named.
Exit 0 when everything verifies, 1 when any record does not (each problem is listed, and in --json under
"problems" with its kind: unreadable, misplaced, conflict, missing, broken-link, bad-signature,
foreign-key, no-key, truncated: the log ends before the newest record the machine's status lists).`,
  options: {
    ...PAUSE_TARGET_OPTIONS,
    machine: { type: 'string', value: 'M', help: 'only this machine\'s records' },
  },
  positionals: { min: 1, max: 1 },
  async run(input, ctx) {
    const machineArg = stringOption(input, 'machine');
    const machine = machineArg === undefined ? undefined : checkName(machineArg, 'machine name');
    const { set, store } = await openPauseTarget(input, ctx, 'history');
    try {
      const h = await readVerifiedHistory(store, set, machine);
      const json = {
        ok: h.ok,
        set,
        store: store.url,
        ...(machine !== undefined ? { machine } : {}),
        records: h.timeline.map((t) => ({ ...t.record, where: t.where, verified: t.verified })),
        machines: h.machines.map((m) => ({ machine: m.machine, key: m.key, head: m.head, records: m.records.length, ok: m.problems.length === 0 })),
        problems: h.problems,
      };
      return { exitCode: h.ok ? 0 : 1, text: render(h, store.url), json };
    } finally {
      await closeAll([store]);
    }
  },
};
