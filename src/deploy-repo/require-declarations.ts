import { formatIssue } from '../declarations/index.js';
import type { Declarations } from '../declarations/types.js';
import { DeclarationError } from '../errors/index.js';
import type { DeclarationsRead } from './read-declarations.js';

/**
 * How the failure reads. `what` opens the message: "the declarations at 1a2b3c4d5e6f are" + " invalid:" and one
 * issue per line; with `oneLine`, "deploy repo at 1a2b3c4d5e6f" + " has N invalid declaration(s): " + the first five.
 */
export interface RequireOptions {
  what: string;
  /** One line (status conditions hold one), instead of one issue per line. */
  oneLine?: boolean;
}

/**
 * The declarations of a read, or a throw for callers that cannot go on without them: the refused tree's own
 * UnsafeTreeError, else DeclarationError with data { commit?, issues } listing each issue as file:line:col.
 */
export function requireDeclarations(read: DeclarationsRead & { oid?: string }, o: RequireOptions): Declarations {
  if (read.refused) throw read.refused;
  if (read.decls !== null) return read.decls;
  const issues = read.issues.map(formatIssue);
  const message = o.oneLine
    ? `${o.what} has ${issues.length} invalid declaration(s): ${issues.slice(0, 5).join('; ')}`
    : `${o.what} invalid:\n${issues.join('\n')}`;
  throw new DeclarationError(message, { ...(read.oid !== undefined ? { commit: read.oid } : {}), issues });
}
