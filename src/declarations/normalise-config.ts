import type { RawMachine, RawRepoConfig } from './raw-types.js';
import type { MachineDeclaration, RepoConfig } from './types.js';

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
