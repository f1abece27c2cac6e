/**
 * Maestro's own endpoints, from the settings that name them: what no task may reach unless an
 * admin allow-lists the exact `host:port` (see `EgressPolicyOptions.infrastructure`).
 */

/** The settings that name Maestro's own endpoints (the config fields of the same names). */
export interface MaestroEndpointSettings {
  /** Temporal frontend `host:port`. @default 'localhost:7233' */
  temporalAddress?: string;
  /** The API's listen address. @default '127.0.0.1' */
  host?: string;
  /** The API's port (0: chosen at start, not known here). @default 8080 */
  port?: number;
  /** The Temporal Web UI's port, on the frontend's host (the dev server's). @default 8233 */
  uiPort?: number;
  /** The Temporal Web UI's URL when it runs elsewhere. */
  temporalUiUrl?: string;
  /** The registry database (`postgres://...`). */
  databaseUrl?: string;
  /** The OPA server. */
  opaUrl?: string;
}

const DEFAULT_PORTS: Readonly<Record<string, number>> = { 'http:': 80, 'https:': 443, 'postgres:': 5432, 'postgresql:': 5432 };

function urlEndpoint(text: string): string | undefined {
  if (!URL.canParse(text)) return undefined;
  const url = new URL(text);
  const port = url.port === '' ? DEFAULT_PORTS[url.protocol] : Number(url.port);
  // A database reached over a Unix socket (`?host=/run/postgresql`) has no network endpoint here.
  return url.hostname === '' || port === undefined ? undefined : `${url.hostname}:${port}`;
}

/**
 * `host:port` of each of Maestro's own endpoints the settings name: the Temporal frontend and its
 * Web UI, the API, the registry database and the OPA server. Ports that are only known once a
 * server has started (port 0) are left out.
 *
 * @example maestroEndpoints({ temporalAddress: '127.0.0.1:7233', port: 8080 }) // ['127.0.0.1:7233', '127.0.0.1:8233', '127.0.0.1:8080']
 */
export function maestroEndpoints({
  temporalAddress = 'localhost:7233',
  host = '127.0.0.1',
  port = 8080,
  uiPort = 8233,
  temporalUiUrl,
  databaseUrl,
  opaUrl,
}: MaestroEndpointSettings): string[] {
  const temporalHost = temporalAddress.replace(/:\d+$/, '');
  const endpoints = [temporalAddress, `${temporalHost}:${uiPort}`, `${host.includes(':') ? `[${host}]` : host}:${port}`];
  for (const url of [temporalUiUrl, databaseUrl, opaUrl]) {
    const endpoint = url === undefined ? undefined : urlEndpoint(url);
    if (endpoint) endpoints.push(endpoint);
  }
  return endpoints.filter((endpoint) => !endpoint.endsWith(':0'));
}
