import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'cli/**/*.test.ts', 'lib/**/*.test.ts', 'runner/**/*.test.ts', 'host/**/*.test.ts', 'sdk/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    reporters: ['default', './test/support/unfinished-reporter.ts'],
  },
});
