import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // As in tsconfig.json's paths: inside the repository the SDK's package name means its sources,
    // whether or not `npm pack` has built lib/ (one copy of the SDK, so one TaskError class).
    alias: { '@summit/maestro/sdk': fileURLToPath(new URL('./src/sdk/index.ts', import.meta.url)) },
  },
  test: {
    include: ['src/**/*.test.ts', 'interpreters/**/*.test.ts', 'test/**/*.test.ts', 'console/src/**/*.test.ts'],
    globalSetup: ['test/setup/temporal.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Integration files share one Temporal dev server; two cores do not gain from more forks.
    maxWorkers: 2,
  },
});
