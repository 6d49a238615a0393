import { durationOr } from '../util/duration.js';
import type { RawMachine, RawReceiver, RawRepoConfig } from './raw-types.js';
import { EVENT_KINDS, type EventKind, type MachineDeclaration, type Receiver, type RepoConfig } from './types.js';

/** The deadline of one delivery attempt when a receiver names none. */
export const DEFAULT_RECEIVER_TIMEOUT_MS = 10_000;

function normaliseReceiver(r: RawReceiver): Receiver {
  const base = {
    name: r.name,
    // The schema admits only known kinds; filtering keeps the type honest without a cast.
    events: r.events === undefined ? [...EVENT_KINDS] : EVENT_KINDS.filter((k: EventKind) => r.events?.includes(k)),
    ...(r.sets === undefined ? {} : { sets: r.sets }),
    timeoutMs: durationOr(r.timeout, DEFAULT_RECEIVER_TIMEOUT_MS),
  };
  return r.type === 'webhook' ? { ...base, type: 'webhook', url: r.url ?? '', secret: r.secret ?? '' } : { ...base, type: 'command', command: r.command ?? [] };
}

/** flotilla.yaml (schema-valid) → RepoConfig with defaults: threshold 1, no deployable flag required,
 * no head pointer, Nix threshold 1. */
export function normaliseConfig(raw: RawRepoConfig): RepoConfig {
  const config: RepoConfig = {
    stores: raw.stores,
    publishers: {
      keys: raw.publishers.keys,
      threshold: raw.publishers.threshold ?? 1,
      requireDeployable: raw.publishers.requireDeployable ?? false,
      promoterKeys: raw.publishers.promoterKeys ?? [],
    },
    headPointer: { enabled: raw.headPointer?.enabled ?? false, ...(raw.headPointer?.store === undefined ? {} : { store: raw.headPointer.store }) },
    receivers: (raw.notifications?.receivers ?? []).map(normaliseReceiver),
  };
  if (raw.nix !== undefined) config.nix = { trustedKeys: raw.nix.trustedKeys, threshold: raw.nix.threshold ?? 1 };
  if (raw.expires !== undefined) config.expires = new Date(raw.expires);
  return config;
}

/** machines/NAME.yaml (schema-valid) → MachineDeclaration. */
export function normaliseMachine(name: string, file: string, raw: RawMachine): MachineDeclaration {
  const m: MachineDeclaration = { name, file, labels: raw.labels ?? {} };
  if (raw.description !== undefined) m.description = raw.description;
  if (raw.platform !== undefined) m.platform = raw.platform;
  return m;
}
