// Node's fs calls fail with a bare Error carrying `code`, `syscall` and `path`. Reported as is they read
// as bugs (InternalError); these are facts about a path a human can fix, so they become typed errors here.
import { FlotillaError } from './base-error.js';
import { PathError, StateError } from './index.js';
import { isAbsolute, relative } from 'node:path';

/** True for the errno values that mean "the disk (or quota) is full", also when a filesystem thread reports one by `code`. */
export function isDiskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** The errno codes that say something about a path rather than about our code. */
const PATH_CODES: ReadonlySet<string> = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'ELOOP', 'ENAMETOOLONG', 'EACCES', 'EPERM', 'EROFS']);
/** The codes that mean "exists but may not be written": a read-only or immutable state dir. */
const WRITE_CODES: ReadonlySet<string> = new Set(['EACCES', 'EPERM', 'EROFS']);

interface SystemError extends Error {
  code: string;
  syscall: string;
  path: string;
}

/** True when `err` is a Node system error on a path whose code is one of `codes`. */
function isPathSystemError(err: unknown, codes: ReadonlySet<string>): err is SystemError {
  if (!(err instanceof Error) || err instanceof FlotillaError) return false;
  const e = err as Partial<SystemError>;
  return typeof e.code === 'string' && codes.has(e.code) && typeof e.path === 'string' && typeof e.syscall === 'string';
}

function describe(e: SystemError): string {
  switch (e.code) {
    case 'ENOENT': return 'no such file or directory';
    case 'ENOTDIR': return 'a path component is not a directory';
    case 'EISDIR': return 'is a directory';
    case 'EROFS': return 'read-only file system';
    case 'EACCES': case 'EPERM': return 'permission denied';
    default: return e.code;
  }
}

/**
 * A PathError naming the path, the errno code and the call for a Node system error on a path (missing,
 * not a directory, permission denied, read-only); every other value is returned unchanged.
 */
export function fromSystemError(err: unknown): unknown {
  if (!isPathSystemError(err, PATH_CODES)) return err;
  return new PathError(`${err.path}: ${describe(err)} (${err.syscall})`, { path: err.path, errno: err.code, syscall: err.syscall }, { cause: err });
}

/**
 * Like fromSystemError, but a write refused inside `stateDir` (EACCES, EPERM, EROFS: a read-only mount, an
 * immutable or foreign-owned dir) becomes a StateError naming the state dir, so the message says which
 * setting to fix rather than which of its many files failed first.
 */
export function fromStateDirError(err: unknown, stateDir: string): unknown {
  if (isPathSystemError(err, WRITE_CODES)) {
    const rel = relative(stateDir, err.path);
    if (!rel.startsWith('..') && !isAbsolute(rel)) {
      const data = { stateDir, path: err.path, errno: err.code, syscall: err.syscall };
      return new StateError(`state dir ${stateDir} is not writable: ${err.path}: ${describe(err)} (${err.syscall})`, data, { cause: err });
    }
  }
  return fromSystemError(err);
}
