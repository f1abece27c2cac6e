/**
 * The CLI's client of the Maestro API (`MAESTRO_URL`, token `MAESTRO_TOKEN` or the local dev token).
 * A problem response becomes the MaestroError of its code, so exit codes follow `ERROR_CODES`.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { ClientSettings, ServerSettings, StoreSettings } from '../config/index.js';

/** The settings the CLI reaches the API with: its URL and token, else the local API's port and dev token. */
type ApiTargetSettings = ClientSettings & Pick<ServerSettings, 'port'> & Pick<StoreSettings, 'dataDir'>;
import { MaestroError, isErrorCode } from '../errors/index.js';

/** A thin JSON client of the API. */
export interface ApiClient {
  /**
   * Sends a request; resolves the JSON body of a 2xx response. A body is sent as JSON, or as is
   * with `options.yaml` (a manifest's text, `application/yaml`).
   * @throws MaestroError for a problem response.
   */
  request<T = unknown>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, options?: { yaml?: boolean }): Promise<T>;
}

/** The API base URL and token the CLI uses, from `config`. */
export function apiTarget(config: ApiTargetSettings): { url: string; token: string | undefined } {
  const url = (config.apiUrl ?? `http://localhost:${config.port}`).replace(/\/+$/, '');
  const devTokenFile = `${config.dataDir}/dev-token`;
  const token = config.apiToken ?? (existsSync(devTokenFile) ? readFileSync(devTokenFile, 'utf8').trim() : undefined);
  return { url, token };
}

interface ProblemBody {
  code?: unknown;
  detail?: unknown;
  errors?: { path: string; message: string; line?: number; column?: number }[];
}

function problemError(status: number, body: ProblemBody): MaestroError {
  const code = isErrorCode(body.code) ? body.code : status >= 500 ? 'UNAVAILABLE' : 'BAD_REQUEST';
  const located = (body.errors ?? []).map((e) => `\n  ${e.line === undefined ? '' : `${e.line}:${e.column ?? 0}: `}${e.path}: ${e.message}`).join('');
  return new MaestroError(code, `${typeof body.detail === 'string' ? body.detail : `HTTP ${status}`}${located}`);
}

/** Creates the client for `config`'s API. */
export function createApiClient(config: ApiTargetSettings): ApiClient {
  const { url, token } = apiTarget(config);
  return {
    async request<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, options: { yaml?: boolean } = {}): Promise<T> {
      let response: Response;
      const type = options.yaml ? 'application/yaml' : 'application/json';
      try {
        response = await fetch(`${url}${path}`, {
          method,
          headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': type }) },
          ...(body === undefined ? {} : { body: options.yaml ? String(body) : JSON.stringify(body) }),
        });
      } catch (error) {
        throw new MaestroError('UNAVAILABLE', `cannot reach the Maestro API at ${url} (is \`npm start\` running? set MAESTRO_URL)`, { cause: error });
      }
      const text = await response.text();
      const parsed: unknown = text === '' ? undefined : JSON.parse(text);
      if (!response.ok) throw problemError(response.status, (parsed ?? {}) as ProblemBody);
      return parsed as T;
    },
  };
}
