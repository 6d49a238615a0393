import { readFileSync } from 'node:fs';
import type { SecureContext, SecureContextOptions } from 'node:tls';

// Node 20 reads NODE_EXTRA_CA_CERTS as it starts, before any code of ours: it builds its whole root store
// from the bundled roots and then parses the file, ~80 ms on this project's 2-core VM with Debian's
// 144-certificate bundle, where a bare `node -e 0` without the variable takes 30 ms (docs/performance.md).
// Every `flotilla` paid it, also a no-op fetch that makes no request and a fetch over plain HTTP that never
// makes a TLS connection. The launcher (src/cli/flotilla-launcher.sh, the package's `bin`) moves the
// variable aside; this module gives it back to child processes at once, and to this process's TLS clients
// at their first secure context, which is when Nix reads its CA file too. Node 22.19 has
// tls.setDefaultCACertificates for this; Node 20, the engine we support, has not, hence the wrapper below.

/** Where the launcher puts NODE_EXTRA_CA_CERTS's value, so that Node does not read it at start. */
export const DEFERRED_CA_ENV = 'FLOTILLA_DEFERRED_CA_CERTS';

interface Deferred {
  file: string;
  trusted: boolean;
}

// On globalThis, not in a module variable: the entry and the verb bundles each hold a copy of this module.
const STATE = Symbol.for('flotilla.deferredCaCerts');
const slot = globalThis as { [STATE]?: Deferred };

/**
 * Called first thing by a process's entry (the bin's, the tick worker's): takes the deferred
 * NODE_EXTRA_CA_CERTS out of `env` and puts it back under its own name, so that every command the process
 * starts (activations, hooks) gets it as it was given, and records it for trustDeferredCaCerts.
 */
export function takeDeferredCaCerts(env: NodeJS.ProcessEnv = process.env): void {
  const file = env[DEFERRED_CA_ENV];
  if (file === undefined) return;
  delete env[DEFERRED_CA_ENV];
  if (file === '') return;
  env['NODE_EXTRA_CA_CERTS'] = file;
  slot[STATE] = { file, trusted: false };
}

/**
 * `env` for a Node child process of ours whose entry calls takeDeferredCaCerts (the agent's tick worker):
 * NODE_EXTRA_CA_CERTS moved aside as the launcher does, so that the child does not parse it at start
 * either. Unchanged when it is unset, or when Node is told to use OpenSSL's CA store (the deferred trust
 * adds to Node's bundled roots).
 */
export function deferCaCerts(env: NodeJS.ProcessEnv, execArgv: readonly string[] = process.execArgv): NodeJS.ProcessEnv {
  const file = env['NODE_EXTRA_CA_CERTS'];
  if (file === undefined || file === '') return env;
  if ([env['NODE_OPTIONS'] ?? '', ...execArgv].some((a) => a.includes('use-openssl-ca'))) return env;
  const out: NodeJS.ProcessEnv = { ...env, [DEFERRED_CA_ENV]: file };
  delete out['NODE_EXTRA_CA_CERTS'];
  return out;
}

/** The options of tls.createSecureContext that make a context differ; any other key is the connection's. */
const CONTEXT_KEYS = [
  'ca', 'cert', 'sigalgs', 'ciphers', 'clientCertEngine', 'crl', 'dhparam', 'ecdhCurve', 'honorCipherOrder', 'key',
  'privateKeyEngine', 'privateKeyIdentifier', 'maxVersion', 'minVersion', 'passphrase', 'pfx', 'secureOptions',
  'secureProtocol', 'sessionIdContext', 'ticketKeys', 'sessionTimeout',
] as const;

/**
 * Makes this process trust the deferred extra CA certificates as Node would have: every secure context
 * made without a `ca` of its own (node:https, fetch, the S3 client, isomorphic-git) gets Node's bundled
 * roots plus the file's certificates. Called by a process's entry, after takeDeferredCaCerts and before
 * anything can connect, so that no TLS client is left out (it loads node:tls, ~1 ms beside the modules a
 * command loads anyway); a no-op when nothing was deferred or once done. The file is read, and the roots
 * parsed, at the first context; a file that cannot be read or parsed is ignored with Node's own warning,
 * as at start. Contexts without options of their own share one, since parsing ~300 certificates per
 * connection would cost each one tens of milliseconds.
 */
export function trustDeferredCaCerts(): void {
  const deferred = slot[STATE];
  if (deferred === undefined || deferred.trusted) return;
  deferred.trusted = true;
  const tls = process.getBuiltinModule('node:tls');
  const original = tls.createSecureContext;
  // Both made at the first context: the shared one is where the file's certificates are first parsed, so
  // a file that does not parse is found there, and parsed once rather than once to check it and again.
  let ca: Array<string | Buffer> = [];
  let shared: SecureContext | undefined;
  const sharedContext = (): SecureContext => {
    if (shared !== undefined) return shared;
    const roots = [...tls.rootCertificates];
    try {
      const withFile = [...roots, readFileSync(deferred.file)];
      shared = original({ ca: withFile });
      ca = withFile;
    } catch (err) {
      process.emitWarning(`Ignoring extra certs from \`${deferred.file}\`, load failed: ${(err as Error).message}`);
      shared = original({ ca: roots });
      ca = roots;
    }
    return shared;
  };
  tls.createSecureContext = (options?: SecureContextOptions): SecureContext => {
    if (options?.ca !== undefined) return original(options);
    const own = options !== undefined && CONTEXT_KEYS.some((k) => options[k] !== undefined);
    const context = sharedContext();
    return own ? original({ ...options, ca }) : context;
  };
}
