// The agent config as its schema accepts it (before normalisation).

/** agent.yaml, schema-valid. */
export interface RawAgentConfig {
  machine: string;
  labels?: Record<string, string>;
  platform?: string;
  stateDir?: string;
  repo: {
    url: string;
    branch?: string;
    testingBranch?: boolean;
    pollSchedule?: string;
    pollInterval?: string;
    timeZone?: string;
    jitter?: string;
    auth?: { usernameEnv?: string; passwordEnv?: string; bearerTokenEnv?: string };
    timeout?: string;
    safetyCheck?: string;
    maxFetchBytes?: number;
  };
  trust: {
    allowedSignersFile?: string;
    pgpKeysFiles?: string[];
    verify?: 'head' | 'all';
    minimumCommit?: string;
    insecureSkipVerify?: boolean;
    mergeAllowedSignersFile?: string;
    mergePgpKeysFiles?: string[];
  };
  stores?: string[];
  coordinationStore?: string;
  storeCredentials?: Array<{ match: string } & Record<string, string>>;
  notificationSecrets?: Record<string, { file?: string; env?: string }>;
  watchPath?: string;
  webhook?: { listen: string; secretFile: string };
  metrics?: { enabled?: boolean; listen?: string };
  keepWarm?: string;
  nix?: { root?: string; register?: 'auto' | 'never' };
  statusHeartbeat?: string;
  logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
}
