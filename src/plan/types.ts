import type { DeclarationIssue } from '../declarations/result.js';
import type { Declarations } from '../declarations/types.js';
import type { NixPathSize } from '../nix/index.js';
import type { LoadedManifest } from '../packages/manifest-types.js';

// The plan of a deploy-repo change (BASE..HEAD). The gatherer (gather-plan.ts) does every read; the
// builder (build-plan.ts) is pure and turns what was gathered into a Plan; renderers only format it.

/** One revision's declarations: null with issues when they do not load. */
export interface RevisionInput {
  oid: string;
  decls: Declarations | null;
  issues: DeclarationIssue[];
}

/** The signature check of one commit in BASE..HEAD. */
export interface CommitFact {
  oid: string;
  subject: string;
  ok: boolean;
  signer?: string;
  format?: string;
  /** Why it was refused (UntrustedCommitError reason or message). */
  reason?: string;
}

/** What the store says about one closure digest. Every field is data: nothing here throws. */
export interface ClosureFacts {
  digest: string;
  /** Every verified manifest of the closure, root first; null when it could not be read. */
  packages: LoadedManifest[] | null;
  readError?: string;
  signatures: { ok: true; signers: string[] } | { ok: false; reason: string };
  /** Absent when the policy does not require a deployable flag. */
  deployable?: { ok: true; by: string } | { ok: false; reason: string };
  /** A Nix closure: its store paths with NarSize/FileSize as the cache lists them; null when unreadable. */
  nixPaths?: NixPathSize[] | null;
  /** The Nix cache the paths were read from. */
  nixCache?: string;
}

/** Everything the builder needs, gathered once. Quarantines are keyed `SET DIGEST`. */
export interface PlanInput {
  base: RevisionInput;
  head: RevisionInput;
  commits: CommitFact[];
  /** Where the commit signers came from, for the reader (e.g. "allowed_signers at BASE abc123"). */
  commitTrust: string;
  /** Set when commit signatures could not be checked at all (no signers at BASE and no --trust-file). */
  commitTrustError?: string;
  closures: ReadonlyMap<string, ClosureFacts>;
  quarantines: ReadonlyMap<string, { machines: string[] }>;
  stores: string[];
  now: Date;
}

/** pass and fail are verdicts; skip means not applicable; warn is shown but does not fail the plan. */
export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip';

/** One named check with a one-line result. */
export interface PlanCheck {
  name: string;
  status: CheckStatus;
  message: string;
  /** Further lines (e.g. each declaration issue as file:line:col). */
  details?: string[];
}

/** A package of a closure diff that changed. */
export interface PackageDelta {
  name: string;
  from: string;
  to: string;
  filesAdded: number;
  filesRemoved: number;
  filesChanged: number;
  /** Up to 20 changed paths, prefixed +, - or ~. */
  paths: string[];
}

/** What changes between the old and the new closure of a set. */
export interface ClosureChange {
  added: Array<{ name: string; digest: string }>;
  removed: Array<{ name: string; digest: string }>;
  changed: PackageDelta[];
  sizeBefore: number;
  sizeAfter: number;
  /** Bytes (and objects) a machine already on the old closure fetches. */
  bytesToFetch: number;
  objectsToFetch: number;
  /** Nix closures only: NarSize sum of the paths fetched (bytesToFetch is their FileSize sum). */
  narBytesToFetch?: number;
}

/** One batch of the rollout schedule. */
export interface PlanBatch {
  index: number;
  canary: boolean;
  machines: string[];
}

/** How the set will roll out. */
export interface RolloutSchedule {
  machines: number;
  batches: PlanBatch[];
  batchSize: string;
  canary: number;
  pauseBetweenBatches: string;
  maxFailures: number;
  windows: string[];
  windowOpenNow: boolean;
  /** ISO instant the next window opens (now when open), or null when none opens within a week. */
  nextWindow: string | null;
  dependsOn: string[];
  onFailure: string;
  /** rollout.maxUnavailable as declared: a count or N%. */
  maxUnavailable: string;
  /** That budget in machines of this set (a percent rounded down). */
  maxUnavailableMachines: number;
  /** rollout.unreachableAfter, e.g. 15m. */
  unreachableAfter: string;
  /** What a machine of an earlier batch that goes silent does to the rollout. */
  onUnreachable: string;
}

/** One set whose declaration changed. */
export interface PlanSet {
  name: string;
  file: string;
  kind: 'added' | 'removed' | 'changed';
  /** Which parts changed: closure, machines, suspended, rollout, activate, health, platform, servicePath, description. */
  aspects: string[];
  from: string | null;
  to: string | null;
  packages: string[];
  provenance: Record<string, string>;
  diff: ClosureChange | null;
  rollout: RolloutSchedule | null;
  checks: PlanCheck[];
  ok: boolean;
}

/** The plan: `ok` false (exit 1) when any check fails. */
export interface Plan {
  schema: 'flotilla.plan/v1';
  base: string;
  head: string;
  ok: boolean;
  verdict: string;
  generatedAt: string;
  stores: string[];
  /** Repo-level changes a reviewer must see (signers, publisher keys, stores, expiry). */
  repoChanges: string[];
  checks: PlanCheck[];
  commits: CommitFact[];
  commitTrust: string;
  sets: PlanSet[];
}
