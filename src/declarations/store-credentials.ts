import type { StoreCredentialRef } from './types.js';
import { ConfigError } from '../errors/index.js';
import type { StoreCredentials } from '../store/open-store.js';

/**
 * The credentials the agent config names for `url` (the first `storeCredentials` entry whose `match` is a
 * prefix of it), read from the environment variables it names. Undefined when no entry matches (S3 then
 * uses the standard AWS chain). ConfigError naming the variable (never its value) when one is unset.
 */
export function credentialsFor(url: string, refs: readonly StoreCredentialRef[], env: NodeJS.ProcessEnv): StoreCredentials | undefined {
  const ref = refs.find((r) => url.startsWith(r.match));
  if (ref === undefined) return undefined;
  const read = (name: string | undefined): string | undefined => {
    if (name === undefined) return undefined;
    const v = env[name];
    if (v === undefined || v === '') throw new ConfigError(`storeCredentials for ${ref.match}: environment variable ${name} is not set`, { match: ref.match, variable: name });
    return v;
  };
  if (ref.accessKeyIdEnv !== undefined || ref.secretAccessKeyEnv !== undefined) {
    const accessKeyId = read(ref.accessKeyIdEnv);
    const secretAccessKey = read(ref.secretAccessKeyEnv);
    if (accessKeyId === undefined || secretAccessKey === undefined) throw new ConfigError(`storeCredentials for ${ref.match}: give both accessKeyIdEnv and secretAccessKeyEnv`, { match: ref.match });
    const sessionToken = read(ref.sessionTokenEnv);
    return { kind: 's3', accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
  }
  const token = read(ref.bearerTokenEnv);
  if (token !== undefined) return { kind: 'bearer', token };
  const username = read(ref.usernameEnv);
  const password = read(ref.passwordEnv);
  if (username !== undefined && password !== undefined) return { kind: 'basic', username, password };
  throw new ConfigError(`storeCredentials for ${ref.match} names no usable credential variables`, { match: ref.match });
}
