/**
 * Running the API as (part of) a process: local dev authentication, and `maestro api`.
 */
import { extendConfig, type Config } from '../config/index.js';
import { startTracing } from '../telemetry/index.js';
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
 * `maestro api`: the API alone until SIGINT or SIGTERM, which drain in-flight requests and exit 0.
 */
export async function serveApi(config: Config): Promise<void> {
  // First, so every request's span goes through it; nothing at all without an OTEL_* exporter.
  const tracing = startTracing('maestro-api');
  const api = await startLocalApi(config);
  console.log(`Maestro API on ${api.url} (Temporal ${config.temporalAddress ?? 'localhost:7233'}, task queue ${config.taskQueue})`);
  const stop = (signal: NodeJS.Signals): void => {
    console.error(`maestro: ${signal}, draining the API...`);
    // Drained requests first, then their spans are exported.
    api.stop().then(
      () => tracing.shutdown().then(() => process.exit(0)),
      (error: unknown) => {
        console.error('maestro: API shutdown failed:', error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
