/**
 * The operator console (`console/`, a single-page app) served at `/console/`: the built files of
 * `console/dist` with cache headers fit for them, `index.html` for every other path under
 * `/console/` (the app routes in the browser), and `config.json`, what the app needs to know about
 * its surroundings. The console authenticates its API calls itself (bearer token), so its files
 * are served without authentication; they hold no data. Every response carries
 * {@link CONSOLE_CSP} and the other headers that keep it from being framed or sniffed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router, type Request, type Response } from 'express';
import { MaestroError, NotFoundError } from '../errors/index.js';
import type { ResolvedDeps } from './context.js';

/** Where `node scripts/console.mjs` builds the console. */
export const CONSOLE_DIST = fileURLToPath(new URL('../../console/dist', import.meta.url));

/** The command that builds the console, named when the build is missing. */
export const CONSOLE_BUILD_COMMAND = 'node scripts/console.mjs';

/** `GET /console/config.json`. */
export interface ConsoleConfig {
  /**
   * Base URL of the Temporal Web UI: `MAESTRO_TEMPORAL_UI_URL` when set, else — when the API talks
   * to a local dev server (`maestro dev` serves the UI on `uiPort`) — that UI on the host the
   * browser reached the API by; otherwise absent and the user sets it in the console's settings.
   */
  temporalUiUrl?: string;
  /** The Temporal namespace runs live in (the Web UI's URLs name it). */
  temporalNamespace: string;
}

/** Options of {@link consoleRouter}. */
export interface ConsoleRouterOptions {
  /**
   * The built console.
   * @default {@link CONSOLE_DIST}
   */
  dist?: string;
}

/**
 * What the console's pages may load and do. The built app needs only its own origin: module
 * scripts and stylesheets from `/console/assets/`, the ELK layout worker from there too, API calls
 * and event streams to the same origin, and SVG data URLs in its stylesheets. No inline script,
 * no eval, no plugins, and no page may frame it (clickjacking an approve button).
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "worker-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers on every console response. */
const SECURITY_HEADERS = {
  'Content-Security-Policy': CONSOLE_CSP,
  // For browsers without CSP frame-ancestors.
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  // Run ids in console URLs stay out of what linked sites (the Temporal Web UI, docs) are told.
  'Referrer-Policy': 'no-referrer',
} as const;

/** Hashed asset names never change content: cache them for a year. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** index.html and unhashed files: revalidate every time, so a new build is picked up at once. */
const REVALIDATE = 'no-cache';

function isLocal(address: string | undefined): boolean {
  if (address === undefined) return true;
  const host = address.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function consoleConfig(deps: Pick<ResolvedDeps, 'config'>, req: Request): ConsoleConfig {
  const { temporalAddress, temporalNamespace, uiPort } = deps.config;
  const local = uiPort > 0 && isLocal(temporalAddress) ? `${req.protocol}://${req.hostname}:${uiPort}` : undefined;
  const temporalUiUrl = deps.config.temporalUiUrl?.replace(/\/+$/, '') ?? local;
  return { ...(temporalUiUrl ? { temporalUiUrl } : {}), temporalNamespace };
}

/**
 * The router to mount at `/console`.
 * A missing build answers `503 UNAVAILABLE` naming {@link CONSOLE_BUILD_COMMAND}; it is checked
 * per request, so a build made while the API runs is served at once.
 *
 * @example
 * app.use('/console', consoleRouter(deps));
 */
export function consoleRouter(deps: Pick<ResolvedDeps, 'config'>, { dist = CONSOLE_DIST }: ConsoleRouterOptions = {}): Router {
  const index = join(dist, 'index.html');
  const router = Router({ strict: true });
  router.use((req, res, next) => {
    res.set(SECURITY_HEADERS);
    next();
  });
  router.get('/config.json', (req: Request, res: Response) => {
    res.set('Cache-Control', 'no-store').json(consoleConfig(deps, req));
  });
  router.use((req, res, next) => {
    if (existsSync(index)) {
      next();
      return;
    }
    throw new MaestroError('UNAVAILABLE', `the console is not built: run \`${CONSOLE_BUILD_COMMAND}\` (npm start and npm test build it)`);
  });
  router.get('/', (req, res, next) => {
    // `/console` → `/console/`: the app's routes and asset URLs are under the slash.
    if (req.originalUrl.split('?')[0] === req.baseUrl) res.redirect(301, `${req.baseUrl}/${req.originalUrl.slice(req.baseUrl.length)}`);
    else next();
  });
  router.use(
    express.static(dist, {
      index: false,
      redirect: false,
      setHeaders: (res, path) => res.setHeader('Cache-Control', path.startsWith(join(dist, 'assets')) ? IMMUTABLE : REVALIDATE),
    }),
  );
  router.get(/.*/, (req: Request, res: Response) => {
    // A missing asset is a 404, not the app: a stale index.html would otherwise load HTML as script.
    if (req.path.startsWith('/assets/')) throw new NotFoundError(`no console asset ${req.path}`);
    res.set('Cache-Control', REVALIDATE).sendFile(index);
  });
  return router;
}
