/**
 * Running the API as (part of) a process: local dev authentication, and `maestro api`.
 */
import { extendConfig, type Config } from '../config/index.js';
import { exitAfterDrain, startTracing } from '../telemetry/index.js';
import { authConfigured, ensureDevToken } from './auth/index.js';
import { startApi, type RunningApi, type StartApiOptions } from './server.js';

/**
 * `config` with a dev token when it configures no authentication at all: the token of
 * `<dataDir>/dev-token` (generated, mode 0600, on first use), announced on `log`. With any
 * authentication configured, `config` unchanged.
 *
 * @param log where the token is announced. @default console.log
 */
export function withDevAuth(config: Config, log: (line: string) => void = console.log): Config {
  if (authConfigured(config)) return config;
  const { token, file, generated } = ensureDevToken(config.dataDir);
  log(`No authentication configured: ${generated ? 'generated' : 'using'} the dev token (admin) in ${file}:\n  ${token}\n  export MAESTRO_TOKEN=$(cat ${file})`);
  return extendConfig(config, { devToken: token });
}

/** Starts the API for `npm start` or `maestro api`, with dev authentication when none is configured. */
export function startLocalApi(config: Config, options: StartApiOptions = {}): Promise<RunningApi> {
  return startApi(withDevAuth(config), options);
}

/**
 * `maestro api`: the API alone until SIGTERM or SIGINT, which drains it (`/readyz` 503 at once,
 * in-flight requests finish; see {@link RunningApi.stop}) and exits 0; a second signal exits at once.
 */
export async function serveApi(config: Config): Promise<void> {
  // First, so every request's span goes through it; nothing at all without an OTEL_* exporter.
  const tracing = startTracing('maestro-api');
  const api = await startLocalApi(config);
  console.log(`Maestro API on ${api.url} (Temporal ${config.temporalAddress ?? 'localhost:7233'}, task queue ${config.taskQueue})`);
  exitAfterDrain('API', async () => {
    // Drained requests first, then their spans are exported.
    await api.stop();
    await tracing.shutdown();
  });
}
