import { FlotillaError } from '../errors/index.js';
import { parseAllowedSigners } from '../trust/allowed-signers.js';
import type { DeclarationIssue } from './result.js';

/**
 * Checks the repo's allowed_signers syntax (git's format, parsed by src/trust). A file of comments only is
 * accepted here (a fresh template); whether it trusts anyone is the signature check's business.
 */
export function checkAllowedSigners(file: string, text: string): DeclarationIssue[] {
  try {
    parseAllowedSigners(text, file);
    return [];
  } catch (err) {
    if (!(err instanceof FlotillaError)) throw err;
    if (err.data['reason'] === 'empty') return [];
    const line = typeof err.data['line'] === 'number' ? err.data['line'] : undefined;
    const message = err.message.replace(/^\S+:\d+: /, '');
    return [{ file, ...(line !== undefined ? { line, col: 1 } : {}), pointer: '', message, rule: 'allowed-signers' }];
  }
}
