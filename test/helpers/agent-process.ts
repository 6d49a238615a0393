import { spawn, type ChildProcess } from 'node:child_process';
import { access, chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openStore } from '../../src/store/open-store.js';
import { listAll } from '../../src/store/store.js';
import { setLeasesPrefix } from '../../src/rollout/lease-keys.js';
import { parseLeaseRecord, readWithEtag, type LeaseRecord } from '../../src/rollout/lease-record.js';
import { CLI, runCli, type DeployWorld } from './deploy-world.js';
import { waitFor } from './fleet.js';

/** One `flotilla agent --once --json` as a real process the test may stop, continue or kill. */
export interface AgentRun {
  child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal) and stdout once the process is gone. */
  done: Promise<{ code: number | null; stdout: string }>;
}

/** Starts `flotilla agent --config CONFIG --once --json`. */
export function startAgentOnce(config: string): AgentRun {
  const child = spawn(process.execPath, [CLI, 'agent', '--config', config, '--once', '--json'], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, FLOTILLA_LOG_LEVEL: 'silent' } });
  let stdout = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  const done = new Promise<{ code: number | null; stdout: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout })));
  return { child, done };
}

/** Waits (polling) until `file` exists; false after `timeoutMs`. */
export function waitForFile(file: string, timeoutMs: number): Promise<boolean> {
  return waitFor(() => access(file).then(() => true, () => false), timeoutMs, 20);
}

/** Every slot lease record of `set` in the store at `storeUrl` (held and released). */
export async function slotRecords(storeUrl: string, set: string): Promise<LeaseRecord[]> {
  const store = openStore(storeUrl);
  try {
    const out: LeaseRecord[] = [];
    for await (const info of listAll(store, setLeasesPrefix(set))) {
      if (!/\/slot-\d+$/.test(info.key)) continue;
      const read = await readWithEtag(store, info.key);
      const rec = read === null ? null : parseLeaseRecord(read.bytes);
      if (rec !== null) out.push(rec);
    }
    return out;
  } finally {
    await store.close();
  }
}

/** Polls `check` every 50 ms until it gives a value (not undefined or false) and returns it; throws naming `what` after `timeoutMs`. */
export async function waitForValue<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Pushes package `app` (VERSION and a bin/activate that exits 0) to the world's store; returns its digest. */
export async function pushApp(world: DeployWorld, version: string): Promise<string> {
  const dir = join(world.root, 'src', `app-${version}`);
  await mkdir(join(dir, 'bin'), { recursive: true });
  await writeFile(join(dir, 'VERSION'), `${version}\n`);
  await writeFile(join(dir, 'bin', 'activate'), '#!/bin/sh\nexit 0\n');
  await chmod(join(dir, 'bin', 'activate'), 0o755);
  const r = await runCli(['push', dir, '--store', world.storeUrl, '--name', 'app', '--sign-key', world.publisherKeyFile]);
  if (r.code !== 0) throw new Error(r.stderr);
  return r.stdout.trim();
}
