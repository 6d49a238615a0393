// Floors of the fetch benchmark, measured in the same run: what no verifying fetch can beat on this machine.
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { readClosureManifests } from '../../src/fetch/read-closure.js';
import { planPacks } from '../../src/fetch/plan-packs.js';
import { digestHex, type Digest } from '../../src/store/digest.js';
import { objectKey } from '../../src/store/keys.js';
import { openStore } from '../../src/store/open-store.js';
import { listAll } from '../../src/store/store.js';
import type { BareGet, BareTree } from './bare-fetch-lane.js';
import { listFiles } from './fetch-dataset.js';

// Hashes the files it is sent with one reused 1 MiB buffer and synchronous reads (the fetch's own way).
const HASH_WORKER = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const { createHash } = require('node:crypto');
const buf = Buffer.allocUnsafe(1 << 20);
parentPort.on('message', (files) => {
  for (const f of files) {
    const fd = fs.openSync(f, 'r');
    const h = createHash('sha256');
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
    fs.closeSync(fd);
    h.digest();
  }
  parentPort.postMessage(files.length);
});`;

/**
 * sha256 of every byte of the tree, read from the page cache, on `threads` threads (started before the
 * clock): no copy, no manifest, no file created, no process start.
 */
export async function timeHash(src: string, threads: number): Promise<number> {
  const files = await listFiles(src);
  const workers = Array.from({ length: threads }, () => new Worker(HASH_WORKER, { eval: true }));
  try {
    await Promise.all(workers.map((w) => new Promise((res) => w.once('online', res))));
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      workers.map(async (w) => {
        while (next < files.length) {
          const batch = files.slice(next, next + 32);
          next += batch.length;
          w.postMessage(batch);
          await new Promise((res) => w.once('message', res));
        }
      }),
    );
    return (performance.now() - t0) / 1000;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/**
 * GET every object of the store under `objects/`, 16 at a time (the fetch's default), in this (warm)
 * process, bytes read and dropped: no hashing, no file written, no process start.
 */
export async function timeGetAll(url: string): Promise<number> {
  const store = openStore(url);
  try {
    const keys: string[] = [];
    for await (const o of listAll(store, 'objects/')) keys.push(o.key);
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < keys.length) {
          const body = await store.get(keys[next++] ?? '');
          for await (const _chunk of body) {
            // dropped
          }
        }
      }),
    );
    return (performance.now() - t0) / 1000;
  } finally {
    await store.close();
  }
}


/** A cold fetch's plan for the bare floor (bare-fetch.ts): its object GETs and the closure's tree. */
export interface BarePlan {
  gets: BareGet[];
  tree: BareTree;
}

/**
 * What a cold `flotilla fetch` of `digest` from `url` makes, planned by the fetch's own code: its object
 * GETs (its packs, plan-packs.ts, then every other object that is not inline in a manifest, each once), and
 * the tree it writes, each package under its index: directories, symlinks, inline files, and each object's
 * paths (an object first seen as an executable keeps that mode at every path: a floor may do less).
 */
export async function coldFetchPlan(url: string, digest: string): Promise<BarePlan> {
  const store = openStore(url);
  try {
    const { packages } = await readClosureManifests([store], digest);
    const missing = new Map<Digest, number>();
    const tree: BareTree = { dirs: [], symlinks: [], inline: [], homes: {} };
    packages.forEach((p, i) => {
      tree.dirs.push(`${i}`);
      for (const e of p.manifest.entries) {
        const path = `${i}/${e.path}`;
        if (e.type === 'dir') tree.dirs.push(path);
        else if (e.type === 'symlink') tree.symlinks.push([path, e.target]);
        else if (e.data !== undefined) tree.inline.push([path, e.data, e.executable ? 0o555 : 0o444]);
        else {
          missing.set(e.digest, e.size);
          (tree.homes[digestHex(e.digest)] ??= { paths: [], mode: e.executable ? 0o555 : 0o444 }).paths.push(path);
        }
      }
    });
    const packs = await planPacks(store, packages, missing);
    const inPacks = new Set(packs.flatMap((p) => [...p.wanted]));
    const gets = [...packs.map((p) => ({ key: objectKey(p.digest), pack: true })), ...[...missing.keys()].filter((d) => !inPacks.has(d)).map((d) => ({ key: objectKey(d), pack: false }))];
    return { gets, tree };
  } finally {
    await store.close();
  }
}
