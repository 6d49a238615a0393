import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runTool } from './tools.js';

/** Key types ssh-keygen can make for the tests. */
export type SshKeyType = 'ed25519' | 'ecdsa256' | 'ecdsa384' | 'ecdsa521' | 'rsa';

/** A throwaway SSH key pair made by ssh-keygen for one test. */
export interface SshKey {
  name: string;
  type: SshKeyType;
  privateKeyPath: string;
  publicKeyPath: string;
  /** The public key line, e.g. `ssh-ed25519 AAAA… comment`. */
  publicKey: string;
  /** The principal used in allowed_signers (`NAME@example.test`). */
  principal: string;
}

const KEYGEN_ARGS: Record<SshKeyType, string[]> = {
  ed25519: ['-t', 'ed25519'],
  ecdsa256: ['-t', 'ecdsa', '-b', '256'],
  ecdsa384: ['-t', 'ecdsa', '-b', '384'],
  ecdsa521: ['-t', 'ecdsa', '-b', '521'],
  rsa: ['-t', 'rsa', '-b', '3072'],
};

/** Makes an unencrypted key pair `dir/NAME` (+ `.pub`) with ssh-keygen. Fails if ssh-keygen fails. */
export async function makeSshKey(dir: string, name: string, type: SshKeyType = 'ed25519'): Promise<SshKey> {
  const privateKeyPath = join(dir, `id-${name}`);
  await runTool('ssh-keygen', [...KEYGEN_ARGS[type], '-N', '', '-q', '-C', `${name}@example.test`, '-f', privateKeyPath]);
  const publicKeyPath = `${privateKeyPath}.pub`;
  const publicKey = (await readFile(publicKeyPath, 'utf8')).trim();
  return { name, type, privateKeyPath, publicKeyPath, publicKey, principal: `${name}@example.test` };
}

/** Options of one allowed_signers line, in git's (ssh-keygen's) format. */
export interface AllowedSignerLineOptions {
  principals?: string;
  namespaces?: string;
  validAfter?: string;
  validBefore?: string;
}

/** One allowed_signers line for `key`: `principals [options] keytype base64`. */
export function allowedSignersLine(key: SshKey, options: AllowedSignerLineOptions = {}): string {
  const opts: string[] = [];
  if (options.namespaces !== undefined) opts.push(`namespaces="${options.namespaces}"`);
  if (options.validAfter !== undefined) opts.push(`valid-after=${options.validAfter}`);
  if (options.validBefore !== undefined) opts.push(`valid-before=${options.validBefore}`);
  const [type, b64] = key.publicKey.split(' ');
  return [options.principals ?? key.principal, ...(opts.length ? [opts.join(',')] : []), type, b64].join(' ');
}

/** Writes an allowed_signers file for `keys` at `path` and returns its text. */
export async function writeAllowedSigners(path: string, keys: SshKey[]): Promise<string> {
  const text = `# test signers\n${keys.map((k) => allowedSignersLine(k)).join('\n')}\n`;
  await writeFile(path, text);
  return text;
}

/** Signs `data` with `ssh-keygen -Y sign -n NAMESPACE`; returns the `-----BEGIN SSH SIGNATURE-----` armor. */
export async function sshSignData(key: SshKey, data: string | Uint8Array, namespace = 'git'): Promise<string> {
  return runTool('ssh-keygen', ['-Y', 'sign', '-q', '-n', namespace, '-f', key.privateKeyPath], { input: data });
}
