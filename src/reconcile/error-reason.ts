import { FlotillaError, isErrorCode, type ErrorCode } from '../errors/index.js';
import { Reason, type ReasonName } from '../status/conditions.js';
import { fromSystemError } from '../errors/system-error.js';

/**
 * The status reason of every error code. Typed over ErrorCode, so a new error class without a reason
 * fails the build; only InternalError (a bug) says InternalError (a test holds every other entry to it).
 */
export const REASON_BY_CODE: Readonly<Record<ErrorCode, ReasonName>> = {
  UsageError: Reason.InvalidConfig,
  ConfigError: Reason.InvalidConfig,
  InvalidNameError: Reason.InvalidDeclarations,
  InvalidDigestError: Reason.VerificationFailed,
  SignatureError: Reason.VerificationFailed,
  PolicyError: Reason.VerificationFailed,
  IntegrityError: Reason.VerificationFailed,
  ManifestError: Reason.VerificationFailed,
  UnsafePathError: Reason.VerificationFailed,
  KeyError: Reason.InvalidKey,
  PathError: Reason.PathUnusable,
  NotFoundError: Reason.FetchFailed,
  TransportError: Reason.FetchFailed,
  TimeoutError: Reason.FetchFailed,
  SizeLimitError: Reason.FetchFailed,
  AccessDeniedError: Reason.StoreAccessDenied,
  UnsupportedOperationError: Reason.StoreUnsupported,
  PreconditionFailedError: Reason.WriteConflict,
  LeaseError: Reason.LeaseLost,
  QuarantinedError: Reason.Quarantined,
  GitError: Reason.RepoUnreachable,
  UntrustedCommitError: Reason.UntrustedCommit,
  RollbackError: Reason.RollbackRefused,
  StaleRepoError: Reason.RepoStale,
  DeclarationError: Reason.InvalidDeclarations,
  UnsafeTreeError: Reason.InvalidDeclarations,
  LockedError: Reason.Locked,
  GenerationError: Reason.GenerationFailed,
  DiskFullError: Reason.DiskFull,
  ActivationError: Reason.ActivationFailed,
  HealthCheckError: Reason.HealthCheckFailed,
  StateError: Reason.StateUnusable,
  InternalError: Reason.InternalError,
};

/**
 * The status reason for an error, and whether it stalls (a human must act) rather than retries. A Node
 * system error on a path (EACCES, ENOENT, EROFS, …) is classed as a PathError first; anything else that is
 * not a Flotilla error is a bug: InternalError, not stalled (the next tick tries again).
 */
export function reasonForError(thrown: unknown): { reason: ReasonName; stalled: boolean; message: string } {
  const err = fromSystemError(thrown);
  if (err instanceof FlotillaError) {
    const reason = isErrorCode(err.code) ? REASON_BY_CODE[err.code] : Reason.InternalError;
    return { reason, stalled: err.retry === 'stall', message: `${err.code}: ${err.message}` };
  }
  return { reason: Reason.InternalError, stalled: false, message: err instanceof Error ? err.message : String(err) };
}
