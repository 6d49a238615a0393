// A floor for `npm run bench -- fetch`: the least a Node process can do for a cold fetch over HTTP. It
// makes the same GETs as `flotilla fetch` (the packs and large objects its plan names, fetch-floors.ts),
// splits each pack by its index, hashes every object with sha256 and writes it as a new file,
// synchronously, from one reused read buffer per connection (bare-fetch-lane.ts): no manifest, signature,
// rename or flush, no stream, promise or copy per read. What is left is Node's start, the transfer,
// the hashing and the kernel's file work. With LANES > 1 each lane runs on a worker thread of its own, so
// that kernel work spreads over cores.
//
// With `tree` it writes the closure's tree as any fetch must, Nix's included: every directory, symlink and
// small file the manifests hold inline (decoded and hashed), and each object at its path. The tree's
// directories, symlinks and inline files are made on the main thread while the lanes' requests are out:
// once the one lane's first bytes are in, or while the worker lanes start (they wait for it before their
// first file). Its plan is read from a file, not from signed manifests fetched, decoded and checked.
//
// With WRITEBACK (bytes), each lane flushes its files in the background as they add up, as the fetch does.
//
// With `signed`, the GETs wait until the closure's signed manifests were read and authenticated from the
// same server (bare-signed-closure.ts), as a verifying fetch's must: the plan then stands for what they say.
//
//   node bare-fetch.js PLAN.json OUT LANES [tree|flat] [WRITEBACK|-] [signed]
//     PLAN: {"base": URL, "gets": [{"key", "pack"}], "tree"?: BareTree (bare-fetch-lane.ts), "signed"?: BareSigned}
//
// Prints {"files", "bytes"} as JSON; exits 1 on an error.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { runBareLane, type BareGet, type BareLane, type BareTally, type BareTree } from './bare-fetch-lane.js';
import { readSignedClosure, type BareSigned } from './bare-signed-closure.js';

/** Makes the tree's directories, symlinks and inline files under `out`; returns the files written. */
function makeTree(out: string, tree: BareTree): BareTally {
  for (const d of tree.dirs) mkdirSync(`${out}/${d}`);
  for (const [path, target] of tree.symlinks) symlinkSync(target, `${out}/${path}`);
  let bytes = 0;
  for (const [path, data, mode] of tree.inline) {
    const b = Buffer.from(data, 'base64');
    createHash('sha256').update(b).digest();
    writeFileSync(`${out}/${path}`, b, { flag: 'wx', mode });
    bytes += b.length;
  }
  return { files: tree.inline.length, bytes };
}

function runWorker(lane: BareLane): Promise<BareTally> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: lane });
    w.once('message', (t: BareTally) => resolve(t));
    w.once('error', reject);
    w.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`lane exited ${code}`))));
  });
}

async function main(): Promise<void> {
  const [planFile, out, lanesArg, treeArg, writebackArg, signedArg] = process.argv.slice(2);
  if (planFile === undefined || out === undefined) throw new Error('usage: bare-fetch.js PLAN.json OUT [LANES] [tree|flat] [WRITEBACK|-] [signed]');
  const writebackBytes = writebackArg === undefined || writebackArg === '-' ? undefined : Number(writebackArg);
  if (writebackBytes !== undefined && !(writebackBytes > 0)) throw new Error(`WRITEBACK must be a number of bytes or -, not ${writebackArg}`);
  if (signedArg !== undefined && signedArg !== 'signed') throw new Error(`the sixth argument is signed, not ${signedArg}`);
  const plan = JSON.parse(readFileSync(planFile, 'utf8')) as { base: string; gets: BareGet[]; tree?: BareTree; signed?: BareSigned };
  const lanes = Math.max(1, Number(lanesArg ?? 1) || 1);
  if (treeArg !== undefined && treeArg !== 'tree' && treeArg !== 'flat') throw new Error(`the fourth argument is tree or flat, not ${treeArg}`);
  const tree = treeArg === 'tree' ? plan.tree : undefined;
  if (treeArg === 'tree' && tree === undefined) throw new Error(`${planFile} has no tree`);
  if (signedArg !== undefined && plan.signed === undefined) throw new Error(`${planFile} has no signed closure`);
  // Before anything is made or asked for: the plan stands for the manifests only once they held.
  if (plan.signed !== undefined && signedArg !== undefined) await readSignedClosure(new URL(plan.base), plan.signed);
  const shares: BareGet[][] = Array.from({ length: lanes }, () => []);
  plan.gets.forEach((g, i) => shares[i % lanes]?.push(g));
  const laneOptions = { ...(tree === undefined ? {} : { homes: tree.homes }), ...(writebackBytes === undefined ? {} : { writebackBytes }) };
  let made: BareTally = { files: 0, bytes: 0 };
  let parts: BareTally[];
  if (lanes === 1) {
    if (tree !== undefined) mkdirSync(out, { recursive: true });
    parts = [await runBareLane({ base: plan.base, gets: plan.gets, out, ...laneOptions }, tree === undefined ? {} : { onFirstBody: () => (made = makeTree(out, tree)) })];
  } else {
    const ready = new Int32Array(new SharedArrayBuffer(4));
    if (tree === undefined) ready[0] = 1;
    const running = Promise.all(shares.map((gets, i) => runWorker({ base: plan.base, gets, out: tree === undefined ? `${out}/${i}` : out, ...laneOptions, ready })));
    if (tree !== undefined) {
      try {
        mkdirSync(out, { recursive: true });
        made = makeTree(out, tree);
      } finally {
        // Set even on failure, so that no lane waits forever; their writes then fail and name the path.
        Atomics.store(ready, 0, 1);
        Atomics.notify(ready, 0);
      }
    }
    parts = await running;
  }
  const total = [made, ...parts].reduce((a, t) => ({ files: a.files + t.files, bytes: a.bytes + t.bytes }), { files: 0, bytes: 0 });
  process.stdout.write(`${JSON.stringify(total)}\n`);
}

if (isMainThread) {
  main().catch((err: unknown) => {
    process.stderr.write(`bare-fetch: ${(err as Error).message}\n`);
    process.exit(1);
  });
} else {
  // A lane that fails rejects unhandled, which ends the worker with an 'error' its starter reports.
  void runBareLane(workerData as BareLane).then((t) => parentPort?.postMessage(t));
}
