import { mkdir, writeFile } from 'node:fs/promises';

/** flotilla.yaml text naming the world's store(s) and one trusted publisher key (threshold 1). */
export function repoConfigYaml(storeUrl: string, publisherPublic: string): string {
  return [`stores:`, `  - "${storeUrl}"`, `publishers:`, `  keys:`, `    - ${publisherPublic}`, `  threshold: 1`, ''].join('\n');
}

/** What an agent config of a test, benchmark or demo machine needs. */
export interface AgentConfigInput {
  machine: string;
  platform: string;
  stateDir: string;
  /** The deploy repo: an HTTP(S) URL or a local path. */
  repoUrl: string;
  allowedSignersFile: string;
  /** Fields laid over the defaults (repo, metrics, …: replaced whole, not merged). */
  extra?: Record<string, unknown>;
}

/**
 * Writes an agent config (JSON, which the agent reads with its YAML loader) that polls every second with no
 * jitter and no metrics port, and creates the machine's state dir. Returns the config object written.
 */
export async function writeAgentConfig(file: string, input: AgentConfigInput): Promise<Record<string, unknown>> {
  await mkdir(input.stateDir, { recursive: true });
  const config = {
    machine: input.machine,
    platform: input.platform,
    stateDir: input.stateDir,
    repo: { url: input.repoUrl, branch: 'main', pollSchedule: '*/1 * * * * *', jitter: '0s' },
    trust: { allowedSignersFile: input.allowedSignersFile },
    metrics: { enabled: false },
    ...input.extra,
  };
  await writeFile(file, `${JSON.stringify(config, null, 2)}\n`);
  return config;
}
