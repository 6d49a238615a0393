// The agent's tick worker and NODE_EXTRA_CA_CERTS: forked with the file deferred (worker-client.ts), it does
// not parse it as it starts, yet its git client trusts it. Real worker processes (the built dist/ worker), a
// real TLS server whose certificate a private CA made with the real openssl signed, answering 404 to all: a
// tick that reaches it fails on the 404, one that does not trust it fails on the certificate.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker } from '../../src/agent/worker-client.js';
import { DEFERRED_CA_ENV } from '../../src/util/deferred-ca-certs.js';
import { makeTempDir } from '../helpers/package-fixtures.js';
import { makeSshKey, writeAllowedSigners } from '../helpers/ssh-keys.js';
import { makeTlsFixture, type TlsFixture } from '../helpers/tls-cert.js';

const run = promisify(execFile);
const ENTRY = resolve('dist/src/agent/tick-worker-main.js');
const CLIENT = resolve('dist/src/agent/worker-client.js');
const DEFERRED = resolve('dist/src/util/deferred-ca-certs.js');

let t: { dir: string; cleanup: () => Promise<void> };
let tls: TlsFixture;
let server: Server;
let configPath: string;
let signers: string;
let url: string;

/** An agent config for the TLS server's repo, with a state dir of its own (a worker locks its state dir). */
async function agentConfig(name: string): Promise<string> {
  const path = join(t.dir, `${name}.json`);
  const config = { machine: 'm1', stateDir: join(t.dir, `state-${name}`), repo: { url, branch: 'main' }, trust: { allowedSignersFile: signers }, metrics: { enabled: false } };
  await writeFile(path, JSON.stringify(config));
  return path;
}

beforeAll(async () => {
  t = await makeTempDir('flotilla-worker-ca-');
  tls = await makeTlsFixture(t.dir);
  server = createServer({ key: tls.key, cert: tls.cert }, (_req, res) => {
    res.statusCode = 404;
    res.end('no such repository');
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  signers = join(t.dir, 'allowed_signers');
  await writeAllowedSigners(signers, [await makeSshKey(t.dir, 'release')]);
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/deploy.git`;
  configPath = await agentConfig('ticks');
}, 60_000);
afterAll(async () => {
  await new Promise<void>((done) => server.close(() => done()));
  await t?.cleanup();
});

/** One tick of a worker started with `extraCa` as NODE_EXTRA_CA_CERTS (or none): its error's message. */
async function tickError(extraCa: string | undefined): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, FLOTILLA_LOG_LEVEL: 'silent' };
  delete env['NODE_EXTRA_CA_CERTS'];
  delete env[DEFERRED_CA_ENV];
  if (extraCa !== undefined) env['NODE_EXTRA_CA_CERTS'] = extraCa;
  const w = await startWorker({ type: 'init', configPath, shownFile: 'agent.json' }, { entry: ENTRY, env });
  try {
    return (await w.tick()).report.error?.message ?? '(no error)';
  } finally {
    await w.kill();
  }
}

describe('the tick worker and NODE_EXTRA_CA_CERTS', () => {
  it('trusts the CA it is given, deferred to its first TLS connection; refuses the server without it', { timeout: 60_000 }, async () => {
    expect(await tickError(tls.caFile)).toMatch(/404/);
    expect(await tickError(undefined)).toMatch(/certificate|CA/i);
  });

  it('does not parse the file as it starts: no warning from Node for a file that does not exist', { timeout: 60_000 }, async () => {
    // A supervisor as the launcher starts it (the file deferred, taken back by its entry) forks a worker,
    // waits for it to be ready and stops it, with no TLS connection made. Node warns at start about an
    // extra CA file it cannot load; the worker's stderr is the supervisor's.
    const config = await agentConfig('starts');
    const script = [
      `const { takeDeferredCaCerts } = await import(${JSON.stringify(DEFERRED)});`,
      'takeDeferredCaCerts();',
      `const { startWorker } = await import(${JSON.stringify(CLIENT)});`,
      `const w = await startWorker({ type: 'init', configPath: ${JSON.stringify(config)}, shownFile: 'agent.json' }, { entry: ${JSON.stringify(ENTRY)} });`,
      'await w.kill();',
      "process.stdout.write('worker ready and stopped');",
    ].join('\n');
    const missing = join(t.dir, 'no-such-ca.pem');
    const env: NodeJS.ProcessEnv = { ...process.env, FLOTILLA_LOG_LEVEL: 'silent', [DEFERRED_CA_ENV]: missing };
    delete env['NODE_EXTRA_CA_CERTS'];
    // From a file: with `-e` the script would be in process.execArgv, which the worker's fork passes on.
    const supervisor = join(t.dir, 'supervisor.mjs');
    const control = join(t.dir, 'supervisor-control.mjs');
    await writeFile(supervisor, script);
    await writeFile(control, script.replace('takeDeferredCaCerts();', `process.env.NODE_EXTRA_CA_CERTS = ${JSON.stringify(missing)}; process.env.NODE_OPTIONS = '--use-openssl-ca';`));
    const { stdout, stderr } = await run(process.execPath, [supervisor], { env, timeout: 50_000 });
    expect(stdout).toBe('worker ready and stopped');
    expect(stderr).not.toContain('no-such-ca.pem');
    // The control: the same supervisor handing the worker the variable as it is, Node in the worker warns.
    // (--use-openssl-ca: the one case the worker is not given the file deferred.)
    const direct = await run(process.execPath, [control], { env: { ...env, [DEFERRED_CA_ENV]: '' }, timeout: 50_000 });
    expect(direct.stderr).toMatch(/Ignoring extra certs from `[^`]*no-such-ca\.pem`, load failed/);
  });
});
