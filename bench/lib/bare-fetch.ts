// A floor for `npm run bench -- fetch`: the least a Node process can do for a cold fetch over HTTP. It
// makes the same GETs as `flotilla fetch` (the packs and large objects its plan names, fetch-floors.ts),
// splits each pack by its index, hashes every object with sha256 and writes it as a new file,
// synchronously, from one reused read buffer per connection (bare-fetch-lane.ts): no manifest, signature,
// tree, rename or flush, no stream, promise or copy per read. What is left is Node's start, the transfer,
// the hashing and the kernel's file work. With LANES > 1 each lane runs on a worker thread of its own, so
// that kernel work spreads over cores.
//
//   node bare-fetch.js PLAN.json OUT LANES      (PLAN: {"base": URL, "gets": [{"key", "pack"}]})
//
// Prints {"files", "bytes"} as JSON; exits 1 on an error.
import { readFileSync } from 'node:fs';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { runBareLane, type BareGet, type BareLane, type BareTally } from './bare-fetch-lane.js';

function runWorker(lane: BareLane): Promise<BareTally> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: lane });
    w.once('message', (t: BareTally) => resolve(t));
    w.once('error', reject);
    w.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`lane exited ${code}`))));
  });
}

async function main(): Promise<void> {
  const [planFile, out, lanesArg] = process.argv.slice(2);
  if (planFile === undefined || out === undefined) throw new Error('usage: bare-fetch.js PLAN.json OUT [LANES]');
  const plan = JSON.parse(readFileSync(planFile, 'utf8')) as { base: string; gets: BareGet[] };
  const lanes = Math.max(1, Number(lanesArg ?? 1) || 1);
  const shares: BareGet[][] = Array.from({ length: lanes }, () => []);
  plan.gets.forEach((g, i) => shares[i % lanes]?.push(g));
  const parts = lanes === 1 ? [await runBareLane({ base: plan.base, gets: plan.gets, out })] : await Promise.all(shares.map((gets, i) => runWorker({ base: plan.base, gets, out: `${out}/${i}` })));
  const total = parts.reduce((a, t) => ({ files: a.files + t.files, bytes: a.bytes + t.bytes }), { files: 0, bytes: 0 });
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
