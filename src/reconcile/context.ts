import type { Logger } from 'pino';
import type { CommandRunner } from '../activation/run-command.js';
import type { Declarations, MachineIdentity, SetDeclaration } from '../declarations/types.js';
import type { CrashPoints } from '../generations/crash-points.js';
import type { Clock } from '../rollout/clock.js';
import type { HistoryNotes } from '../history/history-notes.js';
import type { GateMemory } from '../rollout/gate-memory.js';
import type { LeaseObserver } from '../rollout/lease-observer.js';
import type { Store } from '../store/store.js';
import type { NixCache } from '../nix/index.js';
import type { PublisherPolicy } from '../trust/manifest-policy.js';
import type { StagedMemo } from './staged-memo.js';
import type { StepTiming } from './step.js';

/** The ports a tick works through (real adapters built by src/agent; tests may swap the clock). */
export interface TickPorts {
  log: Logger;
  clock: Clock;
  runner: CommandRunner;
  /** Lease observations must outlive a tick: expiry is judged over time by this process. */
  observer: LeaseObserver;
  /** What the gate read of status files and saw done, kept between decisions and ticks (gate-memory.ts). */
  gate: GateMemory;
  signal: AbortSignal;
  crash?: CrashPoints;
  /** How old a status report may be and still count (see status/readiness.ts). */
  staleAfterMs: number;
  /** How often an unchanged status report is written again (see status/report-due.ts). */
  statusHeartbeatMs: number;
  /**
   * The longest between two of this machine's polls (interval + jitter): how spread a batch's starts can be,
   * which decides whether the batch behind needs switching markers (step-gate.ts markSwitching).
   */
  pollSpanMs: number;
  /** Unique per agent process: machine + pid + random. */
  holder: string;
  agentVersion: string;
}

/** How a tick reaches Nix binary caches and the Nix store it fills (agent config `nix:`). */
export interface NixPorts {
  /** Nix cache URLs, mirror order. */
  caches: string[];
  /** Opens a cache once per process (StoreCache.openNix). */
  open: (url: string) => Promise<NixCache>;
  root: string;
  register: 'auto' | 'never';
}

/** Everything one set's convergence needs within a tick. */
export interface SetContext {
  machine: MachineIdentity;
  stateDir: string;
  set: SetDeclaration;
  decls: Declarations;
  commit: string;
  signer: string;
  /**
   * The closure comes from this machine's testing branch, not from the main branch: it is rolled out to
   * this machine alone (a plan of one), so a machine of any batch can try it.
   */
  trial?: boolean;
  /** Content stores, in mirror order. */
  stores: Store[];
  /** Nix binary caches and where their closures go (sets pinning a /nix/store path). */
  nix: NixPorts;
  /** The writable store for leases, status and quarantine; null when none is configured. */
  coordination: Store | null;
  /** Whether `coordination` passed the precondition probe (false: the agent refuses to coordinate). */
  coordinationSafe: boolean;
  /**
   * Forgets that `coordination` passed the precondition probe (in the process and the state dir): called
   * when a conditional write misbehaved, so the probe runs again before leases are relied on.
   */
  distrustCoordination: () => Promise<void>;
  policy: PublisherPolicy;
  ports: TickPorts;
  timings: StepTiming[];
  /** Bytes this tick downloaded from the stores, summed over its sets (for the report and /metrics). */
  fetched: { bytes: number };
  /** Closures already verified and staged by this process (a waiting machine does not redo them). */
  staged: StagedMemo;
  /** Where switches, rollbacks, quarantines and pauses are noted for the deployment log (absent: not logged). */
  history?: HistoryNotes;
}
