// The throwaway-repo tools live in the shared world module (scripts/world), which benchmarks and the demo use too.
export * from '../../scripts/world/tools.js';
export * from '../../scripts/world/git-repo.js';
