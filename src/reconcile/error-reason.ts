import { FlotillaError } from '../errors/index.js';
import { Reason, type ReasonName } from '../status/conditions.js';

const BY_CODE: Record<string, ReasonName> = {
  SignatureError: Reason.VerificationFailed,
  PolicyError: Reason.VerificationFailed,
  IntegrityError: Reason.VerificationFailed,
  ManifestError: Reason.VerificationFailed,
  UnsafePathError: Reason.VerificationFailed,
  InvalidDigestError: Reason.VerificationFailed,
  NotFoundError: Reason.FetchFailed,
  TransportError: Reason.FetchFailed,
  TimeoutError: Reason.FetchFailed,
  SizeLimitError: Reason.FetchFailed,
  LeaseError: Reason.LeaseLost,
  UntrustedCommitError: Reason.UntrustedCommit,
  RollbackError: Reason.RollbackRefused,
  StaleRepoError: Reason.RepoStale,
  DeclarationError: Reason.InvalidDeclarations,
  UnsafeTreeError: Reason.InvalidDeclarations,
  ActivationError: Reason.ActivationFailed,
  HealthCheckError: Reason.HealthCheckFailed,
};

/** The status reason for an error, and whether it stalls (a human must act) rather than retries. */
export function reasonForError(err: unknown): { reason: ReasonName; stalled: boolean; message: string } {
  if (err instanceof FlotillaError) {
    return { reason: BY_CODE[err.code] ?? Reason.InternalError, stalled: err.retry === 'stall', message: `${err.code}: ${err.message}` };
  }
  return { reason: Reason.InternalError, stalled: false, message: err instanceof Error ? err.message : String(err) };
}
