import { defineConfig } from 'vitest/config';

// Slow-tagged suites (crash loops, 50-agent fleets) run only with FLOTILLA_SLOW=1 (`npm run test:slow`).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
