import { arch, platform } from 'node:os';

/** Defaults of the agent config, in one place so docs and code agree. */
export const AGENT_DEFAULTS = {
  stateDir: '/var/lib/flotilla',
  branch: 'main',
  pollIntervalMs: 30_000,
  timeZone: 'UTC',
  jitterMs: 0,
  repoTimeoutMs: 60_000,
  /** With a head pointer, the longest an unchanged pointer is trusted before git is asked directly. */
  safetyCheckMs: 30 * 60_000,
  maxFetchBytes: 256 * 1024 * 1024,
  metricsListen: '127.0.0.1:9464',
  keepWarmMs: 20_000,
  /**
   * How often an unchanged report is rewritten. Each beat is a store PUT, the largest part of an idle
   * fleet's bill; readers judge staleness from the heartbeat a report declares (status/readiness.ts).
   */
  statusHeartbeatMs: 10 * 60_000,
  logLevel: 'info',
} as const;

/**
 * The longest status heartbeat an agent may be given, and that a report may declare: readers keep a
 * machine fresh for two of its heartbeats, so this bounds how long a dead machine can look alive.
 */
export const MAX_STATUS_HEARTBEAT_MS = 30 * 60_000;

const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

/** This Node's platform in OS/ARCH form (Go/OCI names): linux/amd64, darwin/arm64. */
export function detectPlatform(): string {
  return `${platform()}/${ARCH[arch()] ?? arch()}`;
}
