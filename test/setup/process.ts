/**
 * vitest setupFile of the integration project, run before each test file. The project's files share
 * their process and its modules (`isolate: false` in vitest.config.ts: each file re-importing the
 * whole engine cost ~12 minutes of CPU per run), so what is one per process is set up here:
 * - the Temporal Core runtime, installed once, quiet (errors only), before any file connects or
 *   starts a worker; no test file installs its own;
 * - the environment and working directory as the process started with, restored before each file,
 *   so a variable a file set and left (the processes tests spawn inherit it) cannot reach the next;
 * - no OpenTelemetry SDK: a tracer provider, context manager or propagator an API or worker of an
 *   earlier file registered is dropped, as in a new process.
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { installTemporalRuntime } from '../../src/worker/index.js';

interface Pristine {
  env: Record<string, string | undefined>;
  cwd: string;
}

const state = globalThis as { maestroPristineProcess?: Pristine };
const pristine = (state.maestroPristineProcess ??= { env: { ...process.env }, cwd: process.cwd() });
// vitest's own variables (the worker's id, …) are its to change.
const ours = (name: string): boolean => !name.startsWith('VITEST');
for (const name of Object.keys(process.env)) if (ours(name) && !(name in pristine.env)) delete process.env[name];
for (const [name, value] of Object.entries(pristine.env)) if (ours(name) && process.env[name] !== value) process.env[name] = value;
if (process.cwd() !== pristine.cwd) process.chdir(pristine.cwd);
trace.disable();
context.disable();
propagation.disable();

await installTemporalRuntime('ERROR');
