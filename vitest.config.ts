import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // As in tsconfig.json's paths: inside the repository the SDK's package name means its sources,
    // whether or not `npm pack` has built lib/ (one copy of the SDK, so one TaskError class).
    alias: { '@summit/maestro/sdk': fileURLToPath(new URL('./src/sdk/index.ts', import.meta.url)) },
  },
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Integration files share one Temporal dev server; two cores do not gain from more forks.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'maestro',
          include: ['src/**/*.test.ts', 'interpreters/**/*.test.ts', 'test/**/*.test.ts', 'console/src/**/*.test.ts'],
          globalSetup: ['test/setup/temporal.ts'],
        },
      },
      {
        // The seed's contract tests, kept as the seed wrote them: vitest globals (describe, it,
        // expect), and `new Ajv()` (draft-07) over our 2020-12 schemas, so `ajv` here means Ajv2020.
        // (Their CommonJS `require` works as is: vitest gives every module one.)
        extends: true,
        resolve: { alias: [{ find: /^ajv$/, replacement: 'ajv/dist/2020.js' }] },
        test: {
          name: 'contract',
          include: ['tests/contract/**/*.test.ts'],
          globals: true,
        },
      },
    ],
  },
});
