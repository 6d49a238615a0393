import { formatDuration } from '../util/duration.js';
import { issueAt } from './issue-at.js';
import type { Rule } from './rule-types.js';
import type { DeclarationIssue } from './result.js';
import { isValidTimeZone, timeZoneOffsetMinutes } from './time-zone.js';
import { windowsEverOpen } from './window-coverage.js';

const MAX_WINDOW_MS = 7 * 86_400_000;
// Two fixed instants (northern winter and summer), so the verdict is deterministic and DST on either side
// of the year is considered: windows that open under either offset count as opening.
const REFERENCE_INSTANTS = [new Date('2025-01-15T12:00:00Z'), new Date('2025-07-15T12:00:00Z')];

/** Every window's timeZone must be an IANA zone known to this Node. */
export const knownTimeZones: Rule = {
  name: 'unknown-time-zone',
  check: ({ sets }) =>
    sets.flatMap((s) =>
      s.set.rollout.windows.flatMap((w, i): DeclarationIssue[] =>
        isValidTimeZone(w.timeZone) ? [] : [issueAt(s.parsed, s.raw.rollout?.windows ? `/rollout/windows/${i}/timeZone` : '', `unknown time zone "${w.timeZone}" (use an IANA name such as Europe/Berlin or UTC)`, 'unknown-time-zone')],
      ),
    ),
};

/** A window lasts whole minutes from 1m to 7d; and the windows together must open at some point of the week. */
export const windowsOpen: Rule = {
  name: 'windows-never-open',
  check: ({ sets }) =>
    sets.flatMap((s): DeclarationIssue[] => {
      const windows = s.set.rollout.windows;
      if (windows.length === 0 || !windows.every((w) => isValidTimeZone(w.timeZone))) return [];
      // Whole minutes from 1m to 7d: the rollout planner counts windows in minutes.
      const issues = windows.flatMap((w, i): DeclarationIssue[] =>
        w.durationMs < 60_000 || w.durationMs > MAX_WINDOW_MS || w.durationMs % 60_000 !== 0
          ? [issueAt(s.parsed, s.raw.rollout?.windows ? `/rollout/windows/${i}/duration` : '', `window duration ${formatDuration(w.durationMs)} must be whole minutes from 1m to 7d`, 'window-duration')]
          : [],
      );
      if (issues.length > 0) return issues;
      const opens = REFERENCE_INSTANTS.some((at) => windowsEverOpen(windows, (tz) => timeZoneOffsetMinutes(tz, at)));
      if (!opens) {
        const where = s.raw.rollout?.windows ? '/rollout/windows' : '';
        issues.push(issueAt(s.parsed, where, 'these windows never open: no minute of the week is inside an allow window and outside every deny window', 'windows-never-open'));
      }
      return issues;
    }),
};
