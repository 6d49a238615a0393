import { readFile } from 'node:fs/promises';
import { KeyError } from '../errors/index.js';
import { parseAllowedSigners, type AllowedSigner } from './allowed-signers.js';
import { readPgpKeyring, type PgpKeyring } from './openpgp-verify.js';

/** A set of keys: SSH signers (allowed_signers lines) and OpenPGP public keys. */
export interface SignerKeys {
  sshSigners: AllowedSigner[];
  pgpKeys: PgpKeyring;
}

/**
 * The commit trust policy, pinned in the agent's own config (the root of trust; see repo-history.ts for
 * how the repo's own allowed_signers may narrow or rotate it).
 * - `verify: 'head'`: HEAD must be signed by a trusted key; `'all'`: every commit since the last applied.
 * - `mergeKeys`: a forge's web-merge key, trusted only on merge commits whose merged-in tips are
 *   themselves signed by a pinned key.
 * - `insecureSkipVerify`: the only way to turn verification off; never implied by empty key lists.
 */
export interface CommitTrust extends SignerKeys {
  verify: 'head' | 'all';
  mergeKeys?: SignerKeys;
  insecureSkipVerify?: boolean;
}

/** Where the agent config says its keys are. */
export interface CommitTrustFiles {
  allowedSignersFile?: string;
  pgpKeyFiles?: string[];
  verify?: 'head' | 'all';
  insecureSkipVerify?: boolean;
  /** A forge's web-merge key, trusted only on merge commits whose merged-in tips are signed by pinned keys. */
  mergeAllowedSignersFile?: string;
  mergePgpKeyFiles?: string[];
}

async function readKeyFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new KeyError(`cannot read key file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { file: path }, { cause: err });
  }
}

/**
 * Builds a CommitTrust from key files. Throws KeyError when a named file is missing, unreadable, empty or
 * malformed, or when no file is named at all — unless `insecureSkipVerify` is set, the one explicit way out.
 */
export async function loadCommitTrust(files: CommitTrustFiles): Promise<CommitTrust> {
  const trust: CommitTrust = { sshSigners: [], pgpKeys: [], verify: files.verify ?? 'head' };
  if (files.insecureSkipVerify) return { ...trust, insecureSkipVerify: true };
  if (files.allowedSignersFile !== undefined) {
    trust.sshSigners = parseAllowedSigners(await readKeyFile(files.allowedSignersFile), files.allowedSignersFile);
  }
  for (const path of files.pgpKeyFiles ?? []) trust.pgpKeys.push(...(await readPgpKeyring([await readKeyFile(path)], path)));
  assertHasKeys(trust);
  if (files.mergeAllowedSignersFile !== undefined || (files.mergePgpKeyFiles ?? []).length > 0) {
    const merge: SignerKeys = { sshSigners: [], pgpKeys: [] };
    if (files.mergeAllowedSignersFile !== undefined) merge.sshSigners = parseAllowedSigners(await readKeyFile(files.mergeAllowedSignersFile), files.mergeAllowedSignersFile);
    for (const path of files.mergePgpKeyFiles ?? []) merge.pgpKeys.push(...(await readPgpKeyring([await readKeyFile(path)], path)));
    trust.mergeKeys = merge;
  }
  return trust;
}

/** Throws KeyError when `trust` holds no key and does not say insecureSkipVerify. */
export function assertHasKeys(trust: CommitTrust): void {
  if (trust.insecureSkipVerify) return;
  if (trust.sshSigners.length === 0 && trust.pgpKeys.length === 0) {
    throw new KeyError('no trusted commit signers are configured; refusing to treat that as "verification off"', { reason: 'no-keys' });
  }
}
