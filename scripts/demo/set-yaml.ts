/** Timings of the demo's set: `fast` for the test, the default for people watching. */
export interface DemoTimings {
  pauseBetweenBatches: string;
  healthDelay: string;
}

/** The demo's deploy-repo config: one directory store, one trusted publisher key. */
export function flotillaYaml(storeDir: string, publisherPublic: string): string {
  return `# The deploy repo's configuration (written by the demo).
version: 1
# Where machines fetch closures from, and where leases, status and quarantines live.
stores:
  - ${storeDir}
# Closures must be signed by this publisher key (made by \`flotilla keygen\`).
publishers:
  keys:
    - ${publisherPublic}
  threshold: 1
`;
}

/** sets/web.yaml: the web service on web-1..web-3: one canary, then the other two together. */
export function webSetYaml(closure: string, platform: string, machines: string[], t: DemoTimings): string {
  return `# The web service: which closure runs on which machines, and how it rolls out.
closure: ${closure}
platform: ${platform}
machines: [${machines.join(', ')}]
rollout:
  canary: 1
  batchSize: 2
  pauseBetweenBatches: ${t.pauseBetweenBatches}
  leaseTtl: 30s
activate:
  # Runs from the new generation: stops the old server, starts this one.
  command: [web/bin/activate]
  timeout: 20s
health:
  # GET /healthz on the machine's port; three tries, then the machine rolls back.
  command: [web/bin/health]
  initialDelay: ${t.healthDelay}
  interval: 200ms
  retries: 2
  timeout: 5s
`;
}
