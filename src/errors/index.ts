import { defineError, type ErrorData, type FlotillaError } from './base-error.js';

export { FlotillaError, defineError, hasCode, type RetryClass, type ErrorData } from './base-error.js';

// --- usage and input ---------------------------------------------------------------------------------------
/** A command was called with wrong arguments (exit 2). */
export class UsageError extends defineError('UsageError', 'stall') {}
/** A string that should be `sha256:` + 64 lowercase hex is not. Raised before it becomes a path or URL. */
export class InvalidDigestError extends defineError('InvalidDigestError', 'stall') {}
/** A set, machine, key, pin or rollout name that cannot be one key segment. */
export class InvalidNameError extends defineError('InvalidNameError', 'stall') {}
/** A configuration value (store URL, agent config field) is invalid. */
export class ConfigError extends defineError('ConfigError', 'stall') {}

// --- store -------------------------------------------------------------------------------------------------
/** The object or key does not exist in the store. */
export class NotFoundError extends defineError('NotFoundError', 'retry') {}
/** Bytes do not match the digest or size they were named by. Nothing was kept. */
export class IntegrityError extends defineError('IntegrityError', 'retry') {}
/** A conditional write (create-if-absent, compare-and-swap) lost: the object exists or changed. */
export class PreconditionFailedError extends defineError('PreconditionFailedError', 'wait') {}
/** The backend cannot do what was asked (a write on a read-only HTTP store, create-if-absent over HTTP). */
export class UnsupportedOperationError extends defineError('UnsupportedOperationError', 'stall') {}
/** The network or the server failed (reset, 5xx, deadline). */
export class TransportError extends defineError('TransportError', 'retry') {}
/** More bytes arrived than allowed, or a declared limit was exceeded. */
export class SizeLimitError extends defineError('SizeLimitError', 'stall') {}
/** An operation ran past its deadline. */
export class TimeoutError extends defineError('TimeoutError', 'retry') {}
/** The store refused our credentials (HTTP 401/403, S3 AccessDenied, InvalidAccessKeyId): a human must fix them. */
export class AccessDeniedError extends defineError('AccessDeniedError', 'stall') {}

// --- packages and trust ------------------------------------------------------------------------------------
/** A manifest is malformed or breaks the path rules. Refused as a whole. */
export class ManifestError extends defineError('ManifestError', 'stall') {}
/** A directory to push holds something a package may not (device, FIFO, setuid, hardlink, escaping link). */
export class UnsafePathError extends defineError('UnsafePathError', 'stall') {}
/** A signature is missing, invalid, by an untrusted key, or below the threshold. */
export class SignatureError extends defineError('SignatureError', 'stall') {}
/** A policy check failed (deployable flag absent, quarantined digest, wrong platform). */
export class PolicyError extends defineError('PolicyError', 'stall') {}
/** A key file is missing, empty or malformed. */
export class KeyError extends defineError('KeyError', 'stall') {}
/** A local file or directory named by the user is missing or cannot be read; `data.path` names it. */
export class PathError extends defineError('PathError', 'stall') {}

// --- deploy repo -------------------------------------------------------------------------------------------
/** A commit is unsigned, signed by an unknown key, or its signature does not verify. */
export class UntrustedCommitError extends defineError('UntrustedCommitError', 'stall') {}
/** The new HEAD does not descend from the last applied commit (force-push back, sibling). */
export class RollbackError extends defineError('RollbackError', 'stall') {}
/** The repo's signed `expires` has passed: it may be frozen by an attacker. */
export class StaleRepoError extends defineError('StaleRepoError', 'wait') {}
/** The repo's tree holds something refused (symlinked declaration, submodule, `..` or `.git` entry). */
export class UnsafeTreeError extends defineError('UnsafeTreeError', 'stall') {}
/** A declaration fails its schema or a semantic rule; `data.errors` lists each with file:line:col. */
export class DeclarationError extends defineError('DeclarationError', 'stall') {}
/** A git operation failed (fetch, ref lookup, object read). */
export class GitError extends defineError('GitError', 'retry') {}

// --- machine -----------------------------------------------------------------------------------------------
/** Another local actor holds the set's lock. */
export class LockedError extends defineError('LockedError', 'wait') {}
/** The activation command failed or timed out. */
export class ActivationError extends defineError('ActivationError', 'stall') {}
/** The health check did not pass within its retries and deadline. */
export class HealthCheckError extends defineError('HealthCheckError', 'stall') {}
/** The state dir's filesystem is (nearly) full: a local fault, never the store's; `data` says bytes needed and free. */
export class DiskFullError extends defineError('DiskFullError', 'stall') {}
/** Staging or switching a generation failed (disk full, missing package). */
export class GenerationError extends defineError('GenerationError', 'retry') {}

// --- fleet -------------------------------------------------------------------------------------------------
/** A lease is held by someone else, or ours was lost (fencing token or etag changed). */
export class LeaseError extends defineError('LeaseError', 'wait') {}
/** The digest is quarantined for this set: the fleet stops on it. */
export class QuarantinedError extends defineError('QuarantinedError', 'stall') {}

/** A bug: something we believed impossible happened. */
export class InternalError extends defineError('InternalError', 'stall') {}
/**
 * A durable state file (high-water mark) is corrupt or unreadable, or the state dir cannot be written: never
 * read as "no state"; a human must look. `data.path` (and `data.stateDir` when known) name it.
 */
export class StateError extends defineError('StateError', 'stall') {}

/** The constructor shape every error class shares, with its code as a literal type. */
type ErrorClass<C extends string> = new (message: string, data?: ErrorData, options?: { cause?: unknown }) => FlotillaError & { readonly code: C };

/** Checks at compile time that each key of the table is the code of the class it holds. */
function registerErrors<T extends { [K in keyof T]: ErrorClass<K & string> }>(table: T): Readonly<T> {
  return Object.freeze(table);
}

/**
 * Every error class by its code: the one list of codes. `ErrorCode` derives from it, so a map typed
 * `Record<ErrorCode, …>` (the status reasons, error-reason.ts) fails to build when a class is added here
 * without its entry. A class declared above but left out of this table is caught by a test.
 */
export const ERROR_CLASSES = registerErrors({
  UsageError, InvalidDigestError, InvalidNameError, ConfigError,
  NotFoundError, IntegrityError, PreconditionFailedError, UnsupportedOperationError, TransportError, SizeLimitError, TimeoutError, AccessDeniedError,
  ManifestError, UnsafePathError, SignatureError, PolicyError, KeyError, PathError,
  UntrustedCommitError, RollbackError, StaleRepoError, UnsafeTreeError, DeclarationError, GitError,
  LockedError, ActivationError, HealthCheckError, GenerationError, DiskFullError,
  LeaseError, QuarantinedError,
  InternalError, StateError,
});

/** The code of one of Flotilla's error classes. */
export type ErrorCode = keyof typeof ERROR_CLASSES;

/** True when `code` names one of the classes in ERROR_CLASSES. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CLASSES, code);
}
