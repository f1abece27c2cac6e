/**
 * Vite config of the operator console. The root is this folder (`vite build console`, or
 * `scripts/console.mjs`); the build goes to `console/dist`, served by the API at `/console/`.
 * `vite console` serves it for development, proxying the API to `MAESTRO_URL`'s default port.
 */
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/** Path prefixes of the HTTP API (contracts/openapi.yaml), proxied by the dev server. */
const API_PATHS = ['/runs', '/workflows', '/runbooks', '/audit', '/healthz', '/readyz', '/console/config.json'];

export default defineConfig({
  base: '/console/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 2048 },
  server: { proxy: Object.fromEntries(API_PATHS.map((path) => [path, 'http://localhost:8080'])) },
});
