import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

/** The integration project's files. */
const INTEGRATION = ['src/**/*.test.ts', 'interpreters/**/*.test.ts', 'test/**/*.test.ts', 'console/src/**/*.test.ts'];
/**
 * Files that need a process of their own: the tracing test registers the process's one global
 * OpenTelemetry tracer provider, which a file before it in a shared process may already hold.
 */
const ISOLATED = ['test/tracing.test.ts'];

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
    unstubEnvs: true,
    projects: [
      {
        extends: true,
        test: {
          name: 'maestro',
          include: INTEGRATION,
          exclude: [...configDefaults.exclude, ...ISOLATED],
          globalSetup: ['test/setup/temporal.ts'],
          setupFiles: ['test/setup/process.ts'],
          // The files share their process and its module graph: re-importing the engine for each
          // file took 720 s of the suite's time (`import` in vitest's summary) against 14 s shared.
          // test/setup/process.ts restores the environment between files.
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'maestro-isolated',
          include: ISOLATED,
          globalSetup: ['test/setup/temporal.ts'],
          setupFiles: ['test/setup/process.ts'],
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
