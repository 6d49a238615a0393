import { defineConfig } from 'vitest/config';

// Slow-tagged suites (crash loops, 50-agent fleets) run only with FLOTILLA_SLOW=1 (`npm run test:slow`).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Large files through the page cache unless a test asks otherwise (test/helpers/direct-writes.ts): by
    // default a fetch measures its page cache and chooses (src/util/direct-writes.ts), which would give a
    // test a different write path from one hour to the next.
    env: { FLOTILLA_DIRECT_WRITES: '0' },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
