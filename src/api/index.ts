/**
 * Maestro's HTTP API (Express 5), described by `contracts/openapi.yaml`: {@link createApp} builds
 * the application from its dependencies; {@link startApi} runs it as part of a process.
 */
export { createApp } from './app.js';
export { startApi, type RunningApi, type StartApiOptions } from './server.js';
export { serveApi, startLocalApi, withDevAuth } from './serve.js';
export type { ApiDeps } from './context.js';
export { createApiMetrics, type ApiMetrics } from './metrics.js';
export { toProblem, type Problem } from './problem.js';
export {
  authConfigured,
  authenticatorFromConfig,
  createAuthenticator,
  devTokenVerifier,
  ensureDevToken,
  jwtVerifier,
  readTokensFile,
  tokenEntriesVerifier,
  type Authenticator,
  type AuthenticatedPrincipal,
  type TokenEntry,
} from './auth/index.js';
export { operations, openApiDocument, responseValidator, OPENAPI_FILE } from './openapi/index.js';
