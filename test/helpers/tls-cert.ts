import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A private CA and a server certificate it signed for 127.0.0.1, as PEM, with the CA's file path. */
export interface TlsFixture {
  caFile: string;
  key: string;
  cert: string;
}

/**
 * Makes a CA and a certificate for IP 127.0.0.1 under `dir` with the real `openssl`, as an operator's
 * internal PKI would: a TLS store on it is trusted only when Node is given the CA.
 */
export async function makeTlsFixture(dir: string): Promise<TlsFixture> {
  const f = (name: string): string => join(dir, name);
  await writeFile(f('san.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  await run('openssl', ['req', '-x509', ...EC, '-days', '2', '-subj', '/CN=flotilla test CA', '-keyout', f('ca.key'), '-out', f('ca.pem')]);
  await run('openssl', ['req', ...EC, '-subj', '/CN=127.0.0.1', '-keyout', f('server.key'), '-out', f('server.csr')]);
  await run('openssl', ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', f('san.cnf'), '-out', f('server.pem')]);
  return { caFile: f('ca.pem'), key: await readFile(f('server.key'), 'utf8'), cert: await readFile(f('server.pem'), 'utf8') };
}
