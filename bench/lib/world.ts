// Benchmarks build their worlds with the shared recipe (scripts/world); this adds the caching git front.
import { createDeployWorld, type DeployWorld } from '../../scripts/world/deploy-world.js';
import { startRefCacheServer, type RefCacheServer } from './ref-cache-server.js';

export { findFreePort as freePort } from '../../scripts/servers/free-port.js';
export { isolatedEnv } from '../../scripts/world/tools.js';

/** A deployment world for benchmarks: the shared one, plus the caching front when it was asked for. */
export interface BenchWorld extends DeployWorld {
  /** The caching front when the world was made with `refCache` (repoUrl then points at it). */
  refCache: RefCacheServer | undefined;
}

/**
 * Creates the world. With `refCache`, agents reach the repo through startRefCacheServer (ref advertisements
 * from memory, dropped on every commit) instead of one git http-backend process per request.
 */
export async function createBenchWorld(prefix = 'world', options: { refCache?: boolean } = {}): Promise<BenchWorld> {
  let refCache: RefCacheServer | undefined;
  const world = await createDeployWorld({
    prefix: `bench-${prefix}`,
    ...(options.refCache ? { front: async (url: string) => (refCache = await startRefCacheServer(url)) } : {}),
  });
  return Object.assign(world, { refCache });
}

/** Options of setYaml: the set's closure, machines, rollout and (optional) activation and health. */
export interface SetYamlOptions {
  closure: string;
  platform: string;
  machines: string[];
  /** Default: no batching (`batchSize: all`, no canary, no leases). */
  rollout?: { canary: number; batchSize: number | 'all'; leaseTtl?: string };
  activate?: string[];
  health?: string[];
}

/** sets/NAME.yaml text (YAML flow lists as JSON). */
export function setYaml(o: SetYamlOptions): string {
  const r = o.rollout ?? { canary: 0, batchSize: 'all' };
  const lines = [
    `closure: ${o.closure}`,
    `platform: ${o.platform}`,
    `machines: ${JSON.stringify(o.machines)}`,
    'rollout:',
    `  canary: ${r.canary}`,
    `  batchSize: ${r.batchSize}`,
    ...(r.leaseTtl ? [`  leaseTtl: ${r.leaseTtl}`] : []),
  ];
  if (o.activate) lines.push('activate:', `  command: ${JSON.stringify(o.activate)}`, '  timeout: 20s');
  if (o.health) lines.push('health:', `  command: ${JSON.stringify(o.health)}`, '  initialDelay: 0s', '  interval: 100ms', '  retries: 0', '  timeout: 5s');
  return `${lines.join('\n')}\n`;
}
