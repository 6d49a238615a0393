import { defineError } from './base-error.js';

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
/** Staging or switching a generation failed (disk full, missing package). */
export class GenerationError extends defineError('GenerationError', 'retry') {}

// --- fleet -------------------------------------------------------------------------------------------------
/** A lease is held by someone else, or ours was lost (fencing token or etag changed). */
export class LeaseError extends defineError('LeaseError', 'wait') {}
/** The rollout gate is closed (earlier batch not ready, window shut, pause running). */
export class GateClosedError extends defineError('GateClosedError', 'wait') {}
/** The digest is quarantined for this set: the fleet stops on it. */
export class QuarantinedError extends defineError('QuarantinedError', 'stall') {}

/** A bug: something we believed impossible happened. */
export class InternalError extends defineError('InternalError', 'stall') {}
/** A durable state file (high-water mark) is corrupt or unreadable: never read as "no state"; a human must look. */
export class StateError extends defineError('StateError', 'stall') {}
/** The state dir's filesystem is (nearly) full: a local fault, never the store's; `data` says bytes needed and free. */
export class DiskFullError extends defineError('DiskFullError', 'stall') {}
