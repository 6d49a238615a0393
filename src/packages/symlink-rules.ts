import { ManifestError } from '../errors/index.js';
import type { Entry } from './manifest-types.js';

const MAX_HOPS = 40; // Linux's MAXSYMLINKS
// Total path components walked over all links: bounds the work a hostile manifest can demand.
const MAX_STEPS = 20_000_000;

/**
 * Resolves every symlink the way the kernel would inside the materialised package (following chains and
 * symlinked directories) and throws ManifestError when one could leave the package root or loops.
 * Missing components are treated as plain directories, so a dangling link is allowed only if its
 * spelling stays inside too.
 */
export function checkSymlinksStayInside(entries: readonly Entry[]): void {
  const byPath = new Map<string, Entry>();
  for (const e of entries) byPath.set(e.path, e);
  const hops = { n: 0, steps: 0 };
  for (const e of entries) {
    if (e.type !== 'symlink') continue;
    const parent = e.path.split('/').slice(0, -1);
    hops.n = 0;
    resolve(parent, e.target.split('/'), byPath, hops, e.path, e.target);
  }
}

function resolve(
  start: string[],
  parts: string[],
  byPath: Map<string, Entry>,
  hops: { n: number; steps: number },
  linkPath: string,
  linkTarget: string,
): string[] {
  const fail = (rule: string): never => {
    throw new ManifestError(`symlink ${JSON.stringify(linkPath)} -> ${JSON.stringify(linkTarget)}: ${rule}`, {
      path: linkPath,
      target: linkTarget,
      rule,
    });
  };
  let cur = [...start];
  for (const part of parts) {
    hops.steps += 1;
    if (hops.steps > MAX_STEPS) fail(`symlink resolution needs more than ${MAX_STEPS} steps`);
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (cur.length === 0) fail('resolves outside the package');
      cur.pop();
      continue;
    }
    cur.push(part);
    const hit = byPath.get(cur.join('/'));
    if (hit?.type === 'symlink') {
      hops.n += 1;
      if (hops.n > MAX_HOPS) fail(`more than ${MAX_HOPS} links in a chain (loop?)`);
      cur = resolve(cur.slice(0, -1), hit.target.split('/'), byPath, hops, linkPath, linkTarget);
    }
  }
  return cur;
}
