import type { BatchPhase } from './fleet-page.js';
import type { FleetMachineState, SetHealth } from './fleet-view.js';

/**
 * A word's look on the page: an icon (decorative: the word itself is always printed) and a colour tone. Icons are
 * plain Unicode symbols that common text fonts (DejaVu) have, not emoji a server or CI browser may lack.
 */
export interface Look {
  icon: string;
  tone: 'bad' | 'warn' | 'good' | 'none';
}

/** Failed states are red, rolling out is amber, done is green; waiting and unknown stay uncoloured. */
export const STATE_LOOK: Record<FleetMachineState, Look> = {
  Ready: { icon: '✔', tone: 'good' },
  Progressing: { icon: '◐', tone: 'warn' },
  Waiting: { icon: '◷', tone: 'none' },
  Failed: { icon: '✖', tone: 'bad' },
  RolledBack: { icon: '↶', tone: 'bad' },
  Stale: { icon: '⚠', tone: 'bad' },
  Unreachable: { icon: '⚠', tone: 'bad' },
  Invalid: { icon: '⚠', tone: 'bad' },
  Unknown: { icon: '?', tone: 'none' },
};

/** A set's health. */
export const HEALTH_LOOK: Record<SetHealth, Look> = {
  converged: { icon: '✔', tone: 'good' },
  progressing: { icon: '◐', tone: 'warn' },
  failed: { icon: '✖', tone: 'bad' },
};

/** A batch of the current rollout. */
export const PHASE_LOOK: Record<BatchPhase, Look & { word: string }> = {
  done: { icon: '✔', tone: 'good', word: 'done' },
  rolling: { icon: '◐', tone: 'warn', word: 'rolling out' },
  failed: { icon: '✖', tone: 'bad', word: 'failed' },
  waiting: { icon: '◷', tone: 'none', word: 'waiting' },
};

/** The class that colours an element in `look`'s tone ('' for none). */
export function toneClass(look: Look): string {
  return look.tone === 'none' ? '' : `tone-${look.tone}`;
}

/** A digest shortened for a table cell ("sha256:" and 12 hex), the full value kept for a title. */
export function shortDigest(d: string | null): string {
  return d === null ? '-' : d.replace(/^sha256:/, '').slice(0, 12);
}

/** An ISO instant as "YYYY-MM-DD HH:MM:SSZ" (absolute, so an unchanged fleet renders the same bytes). */
export function shortTime(iso: string | null): string {
  return iso === null ? '-' : iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}
