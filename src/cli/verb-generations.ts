import type { Command } from './command.js';
import { stringOption } from './command.js';
import { listGenerations, readCurrent, readState, requireSet, resolveStateDir } from '../generations/index.js';

/** `flotilla generations SET [--state DIR]`: lists a set's generations with current/active/bad markers. */
export const command: Command = {
  name: 'generations',
  summary: "list a set's generations on this machine (current, active, bad)",
  usage: 'flotilla generations SET [--state DIR] [--json]',
  description: 'Markers: * current, A active (known good), P previously active, ! pending switch target, B bad digest.',
  options: { state: { type: 'string', value: 'DIR', help: 'state dir (default $FLOTILLA_STATE_DIR or /var/lib/flotilla)' } },
  positionals: { min: 1, max: 1 },
  async run(input, ctx) {
    const set = input.positionals[0] ?? '';
    const paths = await requireSet(resolveStateDir(stringOption(input, 'state'), ctx.env), set, ctx.cwd);
    const [state, cur, gens] = await Promise.all([readState(paths.stateFile), readCurrent(paths.current), listGenerations(paths.stateDir, set)]);
    const rows = gens.map((g) => ({
      number: g.number,
      digest: g.digest,
      time: g.origin.time,
      commit: g.origin.commit ?? null,
      signer: g.origin.signer ?? null,
      current: cur?.number === g.number,
      active: state.active === g.number,
      previousActive: state.previousActive === g.number,
      pending: state.pending?.to === g.number,
      bad: state.bad[g.digest] ?? null,
    }));
    const mark = (r: (typeof rows)[number]): string =>
      `${r.current ? '*' : ' '}${r.active ? 'A' : ' '}${r.previousActive ? 'P' : ' '}${r.pending ? '!' : ' '}${r.bad ? 'B' : ' '}`;
    const lines = rows.map((r) => `${mark(r)} ${String(r.number).padStart(4)}  ${r.digest.slice(7, 19)}  ${r.time}  ${r.commit ?? '-'}${r.bad ? `  bad: ${r.bad.reason}` : ''}`);
    if (!cur) lines.push(`(no current generation${state.active === undefined ? '; nothing active' : ''})`);
    return {
      exitCode: 0,
      text: lines.join('\n'),
      json: { set, stateDir: paths.stateDir, current: cur?.number ?? null, active: state.active ?? null, previousActive: state.previousActive ?? null, pending: state.pending ?? null, bad: state.bad, generations: rows },
    };
  },
};
