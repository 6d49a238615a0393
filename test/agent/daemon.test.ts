// The daemon as a real process tree: `flotilla agent --config` (the supervisor) and its tick worker child.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { chmod, cp, mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, createDeployWorld, runCli, type DeployWorld } from '../helpers/deploy-world.js';
import { pushApp, waitForValue } from '../helpers/agent-process.js';
import { FETCH_INTERRUPT_BUDGET } from '../../src/util/tier-up.js';

const SET = 'app';

/** Rewrites the version in the bundle's files under `dir` (the CLI's and the tick worker's copies of src/util/version.ts), as an upgrade would. */
async function bumpBundledVersion(dir: string, version: string): Promise<void> {
  let found = 0;
  for (const name of await readdir(dir)) {
    const file = join(dir, name);
    const text = await readFile(file, 'utf8');
    const bumped = text.replace(/FLOTILLA_VERSION = "[^"]*"/, `FLOTILLA_VERSION = "${version}"`);
    if (bumped !== text) {
      await writeFile(file, bumped);
      found++;
    }
  }
  expect(found, 'the bundle defines FLOTILLA_VERSION').toBeGreaterThan(0);
}

/** Pids of the live (non-zombie) children of `pid`, from /proc/PID/task/*\/children. */
async function childrenOf(pid: number): Promise<number[]> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const out: number[] = [];
  for (const t of tasks) {
    const text = await readFile(`/proc/${pid}/task/${t}/children`, 'utf8').catch(() => '');
    for (const c of text.split(/\s+/).filter(Boolean)) if (await isAlive(Number(c))) out.push(Number(c));
  }
  return out;
}

async function isAlive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

async function cmdline(pid: number): Promise<string> {
  return (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replace(/\0/g, ' ');
}

/**
 * A --require'd probe for every process of the daemon: records each V8 flag it sets at run time, in order,
 * how many npm modules it had loaded when it set the first, and the built-in modules it loaded after it
 * (compiled without Node's code cache), and writes them with its execArgv to $PROBE_DIR/<pid>.json as it exits.
 */
const FLAG_PROBE = `const v8 = require('node:v8'); const set = v8.setFlagsFromString; const flags = []; let before; let npmLoaded;
v8.setFlagsFromString = (f) => {
  flags.push(String(f));
  before ??= new Set(process.moduleLoadList);
  npmLoaded ??= Object.keys(require.cache).filter((k) => k.includes('/node_modules/')).length;
  return set(f);
};
process.on('exit', () => {
  const after = before === undefined ? [] : process.moduleLoadList.filter((m) => !before.has(m) && m.startsWith('NativeModule '));
  require('node:fs').writeFileSync(require('node:path').join(process.env.PROBE_DIR, process.pid + '.json'), JSON.stringify({ execArgv: process.execArgv, flags, after, npmLoaded }));
});
`;
interface FlagProbe {
  execArgv: string[];
  flags: string[];
  after: string[];
  /** npm modules loaded when the first flag was set. */
  npmLoaded: number;
}

const setYaml = (closure: string, platform: string): string =>
  `closure: ${closure}\nplatform: ${platform}\nmachines: [m1, m2]\nrollout:\n  batchSize: all\nactivate:\n  command: [app/bin/activate]\n  timeout: 20s\n`;

async function currentDigest(stateDir: string): Promise<string | null> {
  try {
    const s = JSON.parse(await readFile(join(stateDir, 'status.json'), 'utf8')) as { sets?: Array<{ set: string; currentDigest: string | null }> };
    return s.sets?.find((x) => x.set === SET)?.currentDigest ?? null;
  } catch {
    return null;
  }
}

interface Line {
  pid: number;
  msg: string;
  codeCache?: boolean;
  level: number;
  step?: string;
  digest?: string;
}

async function logLines(file: string): Promise<Line[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l.startsWith('{')).flatMap((l) => {
    try {
      return [JSON.parse(l) as Line];
    } catch {
      return [];
    }
  });
}

function startDaemon(config: string, logFile: string, env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(process.execPath, [CLI, 'agent', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, FLOTILLA_LOG_LEVEL: 'debug', ...env } });
  child.stderr?.pipe(createWriteStream(logFile, { flags: 'a' }));
  return child;
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done({ code: child.exitCode, signal: child.signalCode });
    child.once('exit', (code, signal) => done({ code, signal }));
  });
}

describe('agent daemon: a supervisor and a tick worker that retires when idle', () => {
  let world: DeployWorld;
  const started: ChildProcess[] = [];

  beforeAll(async () => {
    world = await createDeployWorld();
  });
  afterAll(async () => {
    for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await world?.close();
  });

  it('converges, retires the worker after keepWarm, skips unchanged polls, picks up a new commit, exits 0 on SIGTERM', { timeout: 180_000 }, async () => {
    const v1 = await pushApp(world, 'v1');
    await world.commit({ [`sets/${SET}.yaml`]: setYaml(v1, world.platform) }, 'app v1');
    const config = await world.agentConfig('m1', { keepWarm: '3s' });
    const stateDir = join(world.root, 'machines', 'm1');
    const logFile = join(world.root, 'm1.log');
    const probeDir = join(world.root, 'flag-probe');
    await mkdir(probeDir);
    await writeFile(join(probeDir, 'probe.cjs'), FLAG_PROBE);
    const daemon = startDaemon(config, logFile, { NODE_OPTIONS: `--require ${join(probeDir, 'probe.cjs')}`, PROBE_DIR: probeDir });
    started.push(daemon);
    const pid = daemon.pid!;

    await waitForValue('convergence on v1', async () => (await currentDigest(stateDir)) === v1);
    // The tick ran in a child process of the supervisor, which is still there while it is kept warm.
    const finished = await waitForValue('the tick to finish', async () => {
      const lines = (await logLines(logFile)).filter((l) => l.msg === 'tick finished');
      return lines.length > 0 ? lines : undefined;
    });
    const firstWorker = finished[0]!.pid;
    expect(firstWorker).not.toBe(pid);
    expect(await childrenOf(pid)).toContain(firstWorker);
    expect(await cmdline(firstWorker)).toContain('tick-worker-main.js');

    // After keepWarm without a tick that waits, the worker is gone and the supervisor runs alone.
    await waitForValue('the worker to retire', async () => (await childrenOf(pid)).length === 0);
    expect(await isAlive(firstWorker)).toBe(false);
    expect(await isAlive(pid)).toBe(true);

    // The worker set its V8 flags as it started (agent/worker-v8-flags.ts), none on its command line: a
    // small young generation and code optimised later (util/tier-up.ts), with every public built-in module
    // it used loaded before them, so none lost Node's code cache (internal ones, such as fs.rm's, cannot be
    // loaded ahead). They were set before the worker's modules ran and loaded their npm dependencies, which
    // would have grown its young generation first (twice as large, by hand).
    const probe = JSON.parse(await readFile(join(probeDir, `${firstWorker}.json`), 'utf8')) as FlagProbe;
    expect(probe.execArgv).toEqual([]);
    const workerFlags = ['--semi-space-growth-factor=1', `--interrupt-budget=${FETCH_INTERRUPT_BUDGET}`];
    expect(probe.flags.slice(0, 2)).toEqual(workerFlags);
    // Its fetch from the directory store started file threads, and the body, which holds its own copy of
    // util/v8-flags.ts, set the entry's flags again once they were online (a thread's start undoes them).
    expect(probe.flags.length).toBeGreaterThan(2);
    expect(probe.flags.slice(2).every((f) => workerFlags.includes(f))).toBe(true);
    expect(probe.after.filter((m) => !m.startsWith('NativeModule internal/'))).toEqual([]);
    expect(probe.npmLoaded).toBe(0);
    // Its modules were compiled from the bundle's code cache before the flags were set (V8 accepts a cache
    // only under the flags it was made with).
    expect((await logLines(logFile)).filter((l) => l.msg === 'tick worker ready' && l.pid === firstWorker).map((l) => l.codeCache)).toEqual([true]);

    // Polls every second now compare the branch head and run no tick while it has not moved.
    const ticksBefore = (await logLines(logFile)).filter((l) => l.msg === 'tick finished').length;
    const skipsBefore = (await logLines(logFile)).filter((l) => l.msg.startsWith('poll: branch head unchanged')).length;
    await waitForValue('three skipped polls', async () => (await logLines(logFile)).filter((l) => l.msg.startsWith('poll: branch head unchanged')).length >= skipsBefore + 3);
    expect((await logLines(logFile)).filter((l) => l.msg === 'tick finished').length).toBe(ticksBefore);

    // A commit pushed while retired is found by the next poll, in a fresh worker.
    const v2 = await pushApp(world, 'v2');
    await world.commit({ [`sets/${SET}.yaml`]: setYaml(v2, world.platform) }, 'app v2');
    await waitForValue('convergence on v2', async () => (await currentDigest(stateDir)) === v2);
    const later = await waitForValue('the tick to finish', async () => {
      const lines = (await logLines(logFile)).filter((l) => l.msg === 'tick finished').slice(ticksBefore);
      return lines.length > 0 ? lines : undefined;
    });
    expect(later[0]!.pid).not.toBe(firstWorker);
    expect(later[0]!.pid).not.toBe(pid);

    // A change made on the machine (a manual rollback) is seen by the next poll, not at the heartbeat.
    await waitForValue('the worker to retire again', async () => (await childrenOf(pid)).length === 0);
    const ticksBeforeRollback = (await logLines(logFile)).filter((l) => l.msg === 'tick finished').length;
    const rb = await runCli(['rollback', SET, '--state', stateDir]);
    expect(rb.code, rb.stderr).toBe(0);
    await waitForValue('a full tick after the rollback', async () => (await logLines(logFile)).filter((l) => l.msg === 'tick finished').length > ticksBeforeRollback, 30_000);
    expect(await currentDigest(stateDir)).toBe(v1);

    daemon.kill('SIGTERM');
    expect(await exitOf(daemon)).toEqual({ code: 0, signal: null });
    for (const l of later) expect(await isAlive(l.pid)).toBe(false);
    expect((await logLines(logFile)).filter((l) => l.msg === 'tick crashed')).toEqual([]);
  });

  it('kill -9 of the supervisor takes its worker down at once', { timeout: 120_000 }, async () => {
    const config = await world.agentConfig('m2', { keepWarm: '1h' });
    const logFile = join(world.root, 'm2.log');
    const daemon = startDaemon(config, logFile);
    started.push(daemon);
    const pid = daemon.pid!;
    const [worker] = await waitForValue('the first worker', async () => {
      const kids = await childrenOf(pid);
      return kids.length > 0 ? kids : undefined;
    });
    daemon.kill('SIGKILL');
    expect((await exitOf(daemon)).signal).toBe('SIGKILL');
    await waitForValue('the orphaned worker to die', async () => !(await isAlive(worker!)), 10_000);
  });

  it('an invalid config fails the daemon exactly as --once reports it', { timeout: 60_000 }, async () => {
    const file = join(world.root, 'bad-agent.yaml');
    await writeFile(file, 'machine: m3\nrepo: {}\ntrust: {}\n');
    const daemon = await runCli(['agent', '--config', file]);
    const once = await runCli(['agent', '--config', file, '--once']);
    expect(daemon.code).toBe(1);
    expect(daemon.stderr).toContain('flotilla: ConfigError: invalid agent config:');
    expect(daemon.stderr).toBe(once.stderr);
    const missing = await runCli(['agent', '--config', join(world.root, 'absent.yaml'), '--json']);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout)).toMatchObject({ ok: false, error: { code: 'ConfigError' } });
  });
});

describe('agent daemon: signals and a worker that dies', () => {
  let world: DeployWorld;
  const started: ChildProcess[] = [];

  beforeAll(async () => {
    world = await createDeployWorld();
  });
  afterAll(async () => {
    for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await world?.close();
  });

  /** A package whose activation takes `seconds`, so a signal can land while it runs. */
  async function pushSlow(version: string, seconds: number): Promise<string> {
    const dir = join(world.root, 'src', `slow-${version}`);
    await mkdir(join(dir, 'bin'), { recursive: true });
    await writeFile(join(dir, 'VERSION'), `${version}\n`);
    await writeFile(join(dir, 'bin', 'activate'), `#!/bin/sh\nsleep ${seconds}\nexit 0\n`);
    await chmod(join(dir, 'bin', 'activate'), 0o755);
    const r = await runCli(['push', dir, '--store', world.storeUrl, '--name', 'app', '--sign-key', world.publisherKeyFile]);
    if (r.code !== 0) throw new Error(r.stderr);
    return r.stdout.trim();
  }

  const switched = async (logFile: string, digest: string): Promise<Line | undefined> =>
    (await logLines(logFile)).find((l) => l.step === 'switch' && l.digest === digest);

  /** Points the set at m4 alone with a slow `version`, starts m4's daemon, and waits for the switch (the activation runs next). */
  async function slowSwitchOnM4(version: string, seconds: number, logName: string): Promise<{ digest: string; stateDir: string; logFile: string; daemon: ChildProcess; line: Line }> {
    const digest = await pushSlow(version, seconds);
    await world.commit({ [`sets/${SET}.yaml`]: setYaml(digest, world.platform).replace('machines: [m1, m2]', 'machines: [m4]') }, `slow ${version}`);
    const config = await world.agentConfig('m4', { keepWarm: '1h' });
    const logFile = join(world.root, logName);
    const daemon = startDaemon(config, logFile);
    started.push(daemon);
    const line = await waitForValue(`the switch to ${version}`, () => switched(logFile, digest));
    return { digest, stateDir: join(world.root, 'machines', 'm4'), logFile, daemon, line };
  }

  it('SIGTERM to the worker and the supervisor at once (systemd control-group, Ctrl-C) lets the activation finish, then both exit 0', { timeout: 120_000 }, async () => {
    const { digest: v1, stateDir, logFile, daemon, line } = await slowSwitchOnM4('v1', 2, 'm4.log');
    // The activation (sleep 2) runs now, in the worker.
    process.kill(line.pid, 'SIGTERM');
    daemon.kill('SIGTERM');
    expect(await exitOf(daemon)).toEqual({ code: 0, signal: null });
    await waitForValue('the worker to exit', async () => !(await isAlive(line.pid)), 10_000);
    expect(await currentDigest(stateDir)).toBe(v1);
    expect((await logLines(logFile)).filter((l) => l.msg === 'tick crashed')).toEqual([]);
  });

  it('Ctrl-C (SIGINT to the process group) while the worker starts or after exits 0 and leaves no process', { timeout: 120_000 }, async () => {
    const config = await world.agentConfig('m7', { keepWarm: '1h' });
    // 0: right after the fork, while the worker still loads its modules (before it is ready).
    for (const afterMs of [0, 1500]) {
      const daemon = spawn(process.execPath, [CLI, 'agent', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'], detached: true, env: { ...process.env, FLOTILLA_LOG_LEVEL: 'silent' } });
      started.push(daemon);
      let stderr = '';
      daemon.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
      let kids: number[] = [];
      // A tight loop, so the signal can land before the worker has even loaded its modules.
      for (let i = 0; i < 30_000 && kids.length === 0; i++) {
        const text = await readFile(`/proc/${daemon.pid}/task/${daemon.pid}/children`, 'utf8').catch(() => '');
        kids = text.split(/\s+/).filter(Boolean).map(Number);
        if (kids.length === 0) await new Promise((r) => setTimeout(r, 2));
      }
      expect(kids.length).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, afterMs));
      process.kill(-daemon.pid!, 'SIGINT');
      expect(await exitOf(daemon), `SIGINT after ${afterMs} ms: ${stderr}`).toEqual({ code: 0, signal: null });
      for (const k of kids) await waitForValue(`worker ${k} to exit`, async () => !(await isAlive(k)), 10_000);
    }
  });

  it('a worker killed during a tick fails that tick; the next poll starts a fresh worker that finishes the switch', { timeout: 120_000 }, async () => {
    const { digest: v2, stateDir, logFile, daemon, line } = await slowSwitchOnM4('v2', 3, 'm4-crash.log');
    process.kill(line.pid, 'SIGKILL');
    await waitForValue('"tick crashed"', async () => (await logLines(logFile)).some((l) => l.msg === 'tick crashed'));
    expect(await isAlive(daemon.pid!)).toBe(true);
    await waitForValue('convergence on v2 in a new worker', async () => (await currentDigest(stateDir)) === v2);
    const after = await waitForValue('a tick finished after the crash', async () => (await logLines(logFile)).find((l) => l.msg === 'tick finished'));
    expect(after.pid).not.toBe(line.pid);
    expect(after.pid).not.toBe(daemon.pid);
    daemon.kill('SIGTERM');
    expect(await exitOf(daemon)).toEqual({ code: 0, signal: null });
  });
});

describe('agent daemon: a worker whose activation left a process on its pipes', () => {
  let world: DeployWorld;
  let daemon: ChildProcess | undefined;

  beforeAll(async () => {
    world = await createDeployWorld();
  });
  afterAll(async () => {
    if (daemon && daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGKILL');
    const pid = await readFile(join(world.root, 'holder.pid'), 'utf8').catch(() => '');
    if (pid.trim()) process.kill(-Number(pid.trim()), 'SIGKILL');
    await world?.close();
  });

  it('is kept past keepWarm (closing the pipes would kill that process with SIGPIPE) and says so once', { timeout: 120_000 }, async () => {
    const dir = join(world.root, 'src', 'holder');
    await mkdir(join(dir, 'bin'), { recursive: true });
    // `sleep` inherits the activation's stdout and stderr: the worker must not close them by exiting.
    await writeFile(join(dir, 'bin', 'activate'), `#!/bin/sh\nsleep 60 &\necho $$ > ${join(world.root, 'holder.pid')}\nexit 0\n`);
    await chmod(join(dir, 'bin', 'activate'), 0o755);
    const r = await runCli(['push', dir, '--store', world.storeUrl, '--name', 'app', '--sign-key', world.publisherKeyFile]);
    expect(r.code).toBe(0);
    const digest = r.stdout.trim();
    await world.commit({ [`sets/${SET}.yaml`]: setYaml(digest, world.platform).replace('machines: [m1, m2]', 'machines: [m5]') }, 'holder');
    const config = await world.agentConfig('m5', { keepWarm: '1s' });
    const logFile = join(world.root, 'm5.log');
    daemon = startDaemon(config, logFile);
    await waitForValue('convergence', async () => (await currentDigest(join(world.root, 'machines', 'm5'))) === digest);
    const kept = await waitForValue('the keep notice', async () => (await logLines(logFile)).find((l) => l.msg.startsWith('keeping the tick worker')));
    const [worker] = await childrenOf(daemon.pid!);
    expect(worker).toBeDefined();
    // Well past keepWarm, the same worker is still there.
    await new Promise((r) => setTimeout(r, 3000));
    expect(await childrenOf(daemon.pid!)).toEqual([worker]);
    expect((await logLines(logFile)).filter((l) => l.msg.startsWith('keeping the tick worker'))).toEqual([kept]);
    daemon.kill('SIGTERM');
    expect(await exitOf(daemon)).toEqual({ code: 0, signal: null });
  });
});

describe('agent daemon: upgraded on disk while running', () => {
  let world: DeployWorld;
  let copy: string;
  let daemon: ChildProcess | undefined;

  beforeAll(async () => {
    world = await createDeployWorld();
    // A private install: the built CLI (the bin bundle, as npm ships it) copied beside a link to our
    // node_modules, so its files can change.
    copy = join(world.root, 'install');
    await mkdir(copy);
    await cp(resolve('dist/bin'), join(copy, 'dist', 'bin'), { recursive: true });
    await cp(resolve('package.json'), join(copy, 'package.json'));
    await cp(resolve('schemas'), join(copy, 'schemas'), { recursive: true });
    await symlink(resolve('node_modules'), join(copy, 'node_modules'));
  });
  afterAll(async () => {
    if (daemon && daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGKILL');
    await world?.close();
  });

  it('stops with exit 1 naming both versions when a new worker is another version, so systemd restarts it', { timeout: 120_000 }, async () => {
    const v1 = await pushApp(world, 'u1');
    await world.commit({ [`sets/${SET}.yaml`]: setYaml(v1, world.platform).replace('machines: [m1, m2]', 'machines: [m6]') }, 'u1');
    const config = await world.agentConfig('m6', { keepWarm: '0s' });
    const logFile = join(world.root, 'm6.log');
    daemon = spawn(process.execPath, [join(copy, 'dist', 'bin', 'flotilla.js'), 'agent', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, FLOTILLA_LOG_LEVEL: 'debug' } });
    let stderr = '';
    daemon.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    daemon.stderr?.pipe(createWriteStream(logFile, { flags: 'a' }));
    await waitForValue('convergence', async () => (await currentDigest(join(world.root, 'machines', 'm6'))) === v1);
    await waitForValue('the worker to retire', async () => (await childrenOf(daemon!.pid!)).length === 0);
    // The upgrade: the files change, the running supervisor does not.
    await bumpBundledVersion(join(copy, 'dist', 'bin'), '99.0.0');
    const v2 = await pushApp(world, 'u2');
    await world.commit({ [`sets/${SET}.yaml`]: setYaml(v2, world.platform).replace('machines: [m1, m2]', 'machines: [m6]') }, 'u2');
    expect(await exitOf(daemon)).toEqual({ code: 1, signal: null });
    expect(stderr).toContain('the tick worker is flotilla 99.0.0 but this agent runs');
    expect(await currentDigest(join(world.root, 'machines', 'm6'))).toBe(v1);
  });
});
