import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runScript, REPO_ROOT, TOOLS_BIN } from './install.js';
import { freePort } from './ports.js';
import { spawnPeer } from './spawn-peer.js';

/** One sample of an instant vector from Prometheus' HTTP API. */
export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

/** One alert from `GET /api/v1/alerts`. */
export interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
}

/** A running Prometheus server. */
export interface PrometheusPeer {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Evaluates `expr` now (`GET /api/v1/query`). */
  query(expr: string): Promise<PromSample[]>;
  /** The active alerts (`GET /api/v1/alerts`). */
  alerts(): Promise<PromAlert[]>;
  /** Everything Prometheus logged so far. */
  output(): string;
  stop(): Promise<void>;
}

/** Options of {@link startPrometheus}. */
export interface PrometheusOptions {
  /** The configuration (`prometheus.yml` as an object); `rule_files` relative to `files`' folder. */
  config: Record<string, unknown>;
  /** More files written beside the configuration (rule files, a bearer token), by name. @default {} */
  files?: Record<string, string>;
}

/**
 * Starts Prometheus (`scripts/prometheus.mjs install` builds it on first use) on a free port, with
 * `config` and `files` in a temp dir and its TSDB there too; resolves once `/-/ready` answers 200.
 *
 * @throws PeerInstallError or PeerStartError, with the installer's or the server's output.
 */
export async function startPrometheus({ config, files = {} }: PrometheusOptions): Promise<PrometheusPeer> {
  await runScript(process.execPath, [join(REPO_ROOT, 'scripts', 'prometheus.mjs'), 'install']);
  const dir = await mkdtemp(join(tmpdir(), 'maestro-prometheus-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text, { mode: 0o600 });
  await writeFile(join(dir, 'prometheus.yml'), stringify(config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const ready = async (): Promise<boolean> => {
    try {
      return (await fetch(`${url}/-/ready`)).status === 200;
    } catch {
      // Not listening yet.
      return false;
    }
  };
  const peer = await spawnPeer({
    name: 'prometheus',
    command: join(TOOLS_BIN, 'prometheus'),
    args: [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    cwd: dir,
    ready,
    startTimeoutMs: 30_000,
  });
  const api = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${url}${path}`);
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${response.status} ${body.error ?? ''}`);
    return body.data;
  };
  return {
    url,
    query: async (expr) => {
      const data = await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
      return data.result.map(({ metric, value }) => ({ metric, value: Number(value[1]) }));
    },
    alerts: async () => (await api<{ alerts: PromAlert[] }>('/api/v1/alerts')).alerts,
    output: peer.output,
    stop: async () => {
      await peer.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
