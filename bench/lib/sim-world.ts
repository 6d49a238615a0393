// The deploy repo of the scale simulation: N machines in sets of `setSize`, each set's YAML loaded through the
// real declarations pipeline (YAML → schema → normalise → rules), one Declarations per commit.
import { createHash } from 'node:crypto';
import { loadDeclarations } from '../../src/declarations/index.js';
import { formatIssue } from '../../src/declarations/result.js';
import { loadAgentConfigText } from '../../src/declarations/load-agent-config.js';
import type { AgentConfig, Declarations } from '../../src/declarations/types.js';
import type { Digest } from '../../src/store/digest.js';

/** The shape of the simulated fleet and its rollout settings. */
export interface FleetShape {
  machines: number;
  setSize: number;
  batch: number;
  canary: number;
  /** leaseTtl of every set, ms. */
  leaseTtlMs: number;
  /** flotilla.yaml's headPointer.enabled. */
  pointer: boolean;
}

/** A closure digest for `label` (nothing is fetched: only equality matters to the decisions simulated). */
export function digestFor(label: string): Digest {
  return `sha256:${createHash('sha256').update(label).digest('hex')}` as Digest;
}

/** Machine i's name: m00001… (sorts in order, as the planner sorts members). */
export function machineName(i: number): string {
  return `m${String(i).padStart(5, '0')}`;
}

/** Set k's name. */
export function setName(k: number): string {
  return `set-${String(k).padStart(3, '0')}`;
}

/** The set machine i belongs to. */
export function setOf(i: number, shape: FleetShape): string {
  return setName(Math.floor(i / shape.setSize));
}

const PUBLISHER = 'placeholder-1:cWRyk0ippvyoTJJ8xj0iXhIpY7b0R0gmVsU6+Hjgr/Y=';

/** The declarations at a commit where set k runs `closures[k]`; throws naming the first issue (a harness bug). */
export function declarationsFor(shape: FleetShape, closures: readonly Digest[], storeUrl: string): Declarations {
  const files = new Map<string, string>();
  files.set('flotilla.yaml', `version: 1\nstores:\n  - "${storeUrl}"\npublishers:\n  keys:\n    - ${PUBLISHER}\n  threshold: 1\nheadPointer:\n  enabled: ${shape.pointer}\n`);
  const sets = Math.ceil(shape.machines / shape.setSize);
  for (let k = 0; k < sets; k++) {
    const names: string[] = [];
    for (let i = k * shape.setSize; i < Math.min(shape.machines, (k + 1) * shape.setSize); i++) names.push(machineName(i));
    const ttl = `${Math.round(shape.leaseTtlMs / 1000)}s`;
    files.set(`sets/${setName(k)}.yaml`, [
      `closure: ${closures[k] ?? digestFor('v1')}`,
      'platform: linux/amd64',
      `machines: [${names.join(', ')}]`,
      'rollout:',
      `  canary: ${shape.canary}`,
      `  batchSize: ${shape.batch}`,
      `  leaseTtl: ${ttl}`,
      '',
    ].join('\n'));
  }
  const r = loadDeclarations(files);
  if (!r.ok) throw new Error(`simulated deploy repo refused: ${r.errors.slice(0, 3).map(formatIssue).join('; ')}`);
  return r.value;
}

/** The agent config of every simulated machine, through the real loader (schema, normalise, rules). */
export function agentConfigFor(o: { pollIntervalMs: number; jitterMs: number; statusHeartbeatMs: number; safetyCheckMs: number }): AgentConfig {
  const yaml = [
    'machine: m00000', 'platform: linux/amd64', 'stateDir: /nonexistent/simulated',
    'repo:', '  url: https://git.example/deploy.git', '  branch: main', `  pollInterval: ${o.pollIntervalMs}ms`, `  jitter: ${o.jitterMs}ms`, `  safetyCheck: ${o.safetyCheckMs}ms`,
    'trust:', '  allowedSignersFile: /nonexistent/allowed_signers', `statusHeartbeat: ${o.statusHeartbeatMs}ms`, '',
  ].join('\n');
  const r = loadAgentConfigText('simulated-agent.yaml', yaml);
  if (!r.ok) throw new Error(`simulated agent config refused: ${r.errors.slice(0, 3).map(formatIssue).join('; ')}`);
  return r.value;
}
