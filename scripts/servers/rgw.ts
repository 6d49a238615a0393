import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { appendFile, mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findFreePort } from './free-port.js';
import { renderCephConf, type RgwLayout } from './rgw-config.js';

const exec = promisify(execFile);

/** A running single-node Ceph RGW. `stop()` kills its daemons and removes its directory; safe to call twice. */
export interface RgwServer {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  /** Temp directory holding the cluster's config, data, logs and sockets. */
  dir: string;
  /** Milliseconds from the call to the first answered S3 request. */
  startMs: number;
  stop(): Promise<void>;
}

/** How to get an S3 server when Ceph is missing; part of every start failure message. */
export const RGW_HELP =
  'install Ceph RGW with `bash scripts/install-test-deps.sh` (Debian 12: radosgw ceph-mon ceph-osd), ' +
  'or point the tests at an existing S3 server with FLOTILLA_TEST_S3_ENDPOINT, FLOTILLA_TEST_S3_ACCESS_KEY, ' +
  'FLOTILLA_TEST_S3_SECRET_KEY (and FLOTILLA_TEST_S3_REGION)';


const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The last non-blank line of `text`, without Ceph's timestamp and thread prefix, at most 200 characters. */
export function lastLine(text: string): string {
  const line = text.split('\n').map((l) => l.trim()).filter((l) => l !== '').pop() ?? '';
  return line.replace(/^\S+T\S+ [0-9a-f]+ +-?\d+ +/, '').slice(0, 200);
}

async function tail(path: string, lines = 15): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').slice(-lines).join('\n');
}

/**
 * Starts a throwaway Ceph cluster (one mon, one memstore OSD, one radosgw) on 127.0.0.1 in a temp dir and
 * creates an S3 user. A detached watchdog kills the daemons and removes the dir if this process dies
 * without calling stop(). Rejects with a message naming the failed step, the log tail and RGW_HELP when
 * Ceph is missing or a step fails or `deadlineMs` (default 90 s) passes; nothing is left running then.
 */
export async function startRgw(options: { deadlineMs?: number } = {}): Promise<RgwServer> {
  const t0 = Date.now();
  const deadline = t0 + (options.deadlineMs ?? 90_000);
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-rgw-'));
  const layout: RgwLayout = { dir, fsid: randomUUID(), monPort: await findFreePort(), rgwPort: await findFreePort() };
  const conf = join(dir, 'ceph.conf');
  const children: ChildProcess[] = [];
  const pidFile = join(dir, 'pids');
  await writeFile(pidFile, '');
  // The watchdog must not depend on the caller's PATH: it is the last line of defence against stray daemons.
  const reaper = spawn(
    '/bin/sh',
    ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill -9 $(cat "$1") 2>/dev/null; rm -rf "$2"`, 'sh', pidFile, dir],
    { detached: true, stdio: 'ignore', env: { PATH: '/usr/bin:/bin' } },
  );
  reaper.on('error', () => undefined);
  reaper.unref();

  let stopped = false;
  const tools = new AbortController(); // kills a running ceph/radosgw-admin call when start-up is abandoned
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    tools.abort();
    // The cluster is throwaway (memstore): SIGKILL at once instead of waiting seconds for a clean OSD stop.
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    const end = Date.now() + 5000;
    while (children.some((c) => c.exitCode === null && c.signalCode === null) && Date.now() < end) await sleep(20);
    if (reaper.pid !== undefined && reaper.exitCode === null) reaper.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  };

  // A daemon that dies during start-up fails the start at once instead of at the deadline.
  let onDeath: (err: Error) => void = () => undefined;
  const death = new Promise<never>((_, reject) => (onDeath = reject));
  death.catch(() => undefined);

  const step = async (what: string, cmd: string, args: string[]): Promise<string> => {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`deadline passed before: ${what}`);
    try {
      return (await Promise.race([exec(cmd, args, { timeout: left, maxBuffer: 16 << 20, signal: tools.signal }), death])).stdout;
    } catch (err) {
      if (!(err as { cmd?: string }).cmd && !(err as NodeJS.ErrnoException).code) throw err;
      const e = err as NodeJS.ErrnoException & { stderr?: string; stdout?: string; killed?: boolean; signal?: string };
      if (e.code === 'ENOENT') throw new Error(`${cmd} is not installed`);
      const how = e.killed ? 'was killed at the deadline' : `failed (exit ${String(e.code)}${e.signal ? `, ${e.signal}` : ''})`;
      throw new Error(`${what} ${how}: ${`${e.stderr ?? ''}\n${e.stdout ?? ''}`.trim().slice(-2000)}`);
    }
  };

  const daemon = async (name: string, cmd: string, args: string[]): Promise<ChildProcess> => {
    const out = await open(join(dir, 'log', `${name}.out`), 'a');
    const child = spawn(cmd, ['-f', '-c', conf, ...args], { stdio: ['ignore', out.fd, out.fd] });
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err: NodeJS.ErrnoException) =>
        reject(new Error(err.code === 'ENOENT' ? `${cmd} is not installed` : `${cmd}: ${err.message}`)),
      );
    });
    child.unref();
    try {
      await spawned;
    } finally {
      await out.close();
    }
    children.push(child);
    child.once('exit', (code, signal) => {
      if (!stopped) onDeath(new Error(`${cmd} exited during start-up (${code ?? signal}); see ${name}.out`));
    });
    await appendFile(pidFile, `${child.pid}\n`);
    return child;
  };

  const accessKey = `AK${randomBytes(9).toString('hex').toUpperCase()}`;
  const secretKey = randomBytes(24).toString('base64url');
  const endpoint = `http://127.0.0.1:${layout.rgwPort}`;
  try {
    for (const sub of ['run', 'log', 'crash', 'rgw', 'mon/ceph-a', 'osd/ceph-0']) await mkdir(join(dir, sub), { recursive: true });
    await writeFile(conf, renderCephConf(layout));
    const ceph = (what: string, ...args: string[]): Promise<string> =>
      step(what, 'ceph', ['-c', conf, '--connect-timeout', '20', ...args]);
    const monmap = join(dir, 'monmap');
    await step('monmaptool --create', 'monmaptool', ['--create', '--addv', 'a', `[v1:127.0.0.1:${layout.monPort}]`, '--fsid', layout.fsid, monmap]);
    await step('ceph-mon --mkfs', 'ceph-mon', ['--mkfs', '-i', 'a', '--monmap', monmap, '-c', conf]);
    await daemon('mon', 'ceph-mon', ['-i', 'a']);
    const osdUuid = randomUUID();
    const osdId = (await ceph('ceph osd new', 'osd', 'new', osdUuid)).trim();
    await step('ceph-osd --mkfs', 'ceph-osd', ['-c', conf, '-i', osdId, '--mkfs', '--osd-uuid', osdUuid]);
    await ceph('ceph osd crush add', 'osd', 'crush', 'add', `osd.${osdId}`, '1.0', 'root=default', 'host=localhost');
    await daemon('osd', 'ceph-osd', ['-i', osdId]);
    const rgw = await daemon('rgw', 'radosgw', ['-n', 'client.rgw.a']);
    await step('radosgw-admin user create', 'radosgw-admin', [
      '-c', conf, 'user', 'create', '--uid', 'flotilla-test', '--display-name', 'flotilla test',
      '--access-key', accessKey, '--secret-key', secretKey,
    ]);
    await waitForHttp(endpoint, deadline, rgw, join(dir, 'log'));
  } catch (err) {
    const names = ['mon', 'osd', 'rgw'];
    const tails = await Promise.all(names.map((n) => tail(join(dir, 'log', `${n}.out`))));
    const logs = names.map((n, i) => `--- ${n}.out\n${tails[i] ?? ''}`);
    // A daemon that died usually says why on its log's last line (ceph-mon: too little free disk): it goes
    // on the first line of the message, which callers that skip RGW print alone.
    const died = /see (\w+)\.out$/.exec((err as Error).message)?.[1];
    const why = lastLine(tails[names.indexOf(died ?? '')] ?? '');
    await stop();
    throw new Error(
      `could not start Ceph RGW: ${(err as Error).message}${why ? ` (${why})` : ''}\n${logs.join('\n')}\nTo get an S3 server: ${RGW_HELP}`,
    );
  }
  return { endpoint, accessKey, secretKey, region: 'us-east-1', dir, startMs: Date.now() - t0, stop };
}

/** Polls `url` until any HTTP answer arrives; fails early if `child` exits, or at `deadline`. */
async function waitForHttp(url: string, deadline: number, child: ChildProcess, logDir: string): Promise<void> {
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`radosgw exited (${child.exitCode ?? child.signalCode}); see ${logDir}`);
    }
    try {
      await fetch(url, { signal: AbortSignal.timeout(2000) });
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`radosgw did not answer at ${url} before the deadline`);
      await sleep(100);
    }
  }
}
