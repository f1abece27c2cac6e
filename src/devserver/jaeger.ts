/**
 * A local Jaeger (all-in-one, memory storage) for `maestro dev --traces` and the tracing test:
 * finding the binary ({@link resolveJaegerBin}, installing it through `scripts/jaeger.mjs` on first
 * use) and starting it on free local ports with OTLP in and the UI and query API out
 * ({@link startJaeger}).
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { findTool } from '../config/index.js';
import { ConfigError } from '../errors/index.js';
import { listenOnce } from './dev-server.js';

/** The install script, which builds Jaeger from its Go module into `.tools/bin` (first use only). */
const INSTALL_SCRIPT = fileURLToPath(new URL('../../scripts/jaeger.mjs', import.meta.url));

/**
 * Finds Jaeger: `configured` (`MAESTRO_JAEGER_BIN`), `jaeger` on PATH, `.tools/bin/jaeger`; when
 * none is there and `install` is set, installs it with `scripts/jaeger.mjs` (minutes, once),
 * which prints its progress on this process's stderr.
 *
 * @throws {ConfigError} `TOOL_MISSING` when it is missing and not to be installed, or the install failed.
 */
export function resolveJaegerBin(configured: string | undefined, { install = false }: { install?: boolean } = {}): string {
  const find = (): string => findTool({ name: 'jaeger', configured, setting: 'MAESTRO_JAEGER_BIN', install: 'run `node scripts/jaeger.mjs` (builds Jaeger into .tools/)' });
  try {
    return find();
  } catch (error) {
    if (!install || configured !== undefined) throw error;
  }
  try {
    execFileSync(process.execPath, [INSTALL_SCRIPT], { stdio: ['ignore', 'ignore', 'inherit'] });
  } catch (error) {
    throw new ConfigError(`Jaeger could not be installed by scripts/jaeger.mjs (see its output above)`, { code: 'TOOL_MISSING', cause: error });
  }
  return find();
}

/** Options of {@link startJaeger}. */
export interface JaegerOptions {
  /** The `jaeger` binary ({@link resolveJaegerBin}). */
  bin: string;
  /** OTLP over HTTP. @default a free port */
  otlpPort?: number;
  /** UI and HTTP query API (`/api/traces/{id}`). @default a free port */
  uiPort?: number;
  /** How long to wait until it serves. @default 60000 */
  startTimeoutMs?: number;
}

/** A running local Jaeger. */
export interface RunningJaeger {
  /** Base URL of OTLP over HTTP, for `OTEL_EXPORTER_OTLP_ENDPOINT`: `http://127.0.0.1:<port>`. */
  otlpUrl: string;
  /** The UI (and the query API under `/api`). */
  uiUrl: string;
  /** Stops it; its traces (in memory) are gone. */
  stop(): Promise<void>;
}

/** The collector configuration: OTLP in, memory storage, the query UI; every other port on a free one, all on 127.0.0.1. */
function jaegerConfig(ports: { otlp: number; otlpGrpc: number; ui: number; queryGrpc: number; health: number }): string {
  return `service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:${ports.health}
  jaeger_storage:
    backends:
      memory_store:
        memory:
          max_traces: 100000
  jaeger_query:
    storage:
      traces: memory_store
    http:
      endpoint: 127.0.0.1:${ports.ui}
    grpc:
      endpoint: 127.0.0.1:${ports.queryGrpc}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${ports.otlpGrpc}
      http:
        endpoint: 127.0.0.1:${ports.otlp}
processors:
  batch:
    timeout: 200ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memory_store
`;
}

/** True once `url` answers 200. */
async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    // Not listening yet.
    return false;
  }
}

/**
 * Starts Jaeger all-in-one on 127.0.0.1 with its config in a temporary folder; resolves once its
 * query API answers and OTLP is accepted.
 *
 * @throws {ConfigError} when it exits or does not serve within `startTimeoutMs`, with its last output.
 */
export async function startJaeger({ bin, otlpPort = 0, uiPort = 0, startTimeoutMs = 60_000 }: JaegerOptions): Promise<RunningJaeger> {
  const free = (port: number): Promise<number> => listenOnce('127.0.0.1', port);
  const ports = { otlp: await free(otlpPort), ui: await free(uiPort), otlpGrpc: await free(0), queryGrpc: await free(0), health: await free(0) };
  const dir = mkdtempSync(join(tmpdir(), 'maestro-jaeger-'));
  const config = join(dir, 'jaeger.yaml');
  writeFileSync(config, jaegerConfig(ports));
  const child = spawn(bin, ['--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer): void => void (output = (output + chunk.toString('utf8')).slice(-8_000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = once(child, 'exit');
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5_000).then(() => child.kill('SIGKILL'))]);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const otlpUrl = `http://127.0.0.1:${ports.otlp}`;
  const uiUrl = `http://127.0.0.1:${ports.ui}`;
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new ConfigError(`Jaeger exited while starting:\n${output.trim()}`);
    }
    if ((await answers(`${uiUrl}/api/services`)) && (await answers(`http://127.0.0.1:${ports.health}/status`))) return { otlpUrl, uiUrl, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new ConfigError(`Jaeger did not serve within ${startTimeoutMs} ms:\n${output.trim()}`);
    }
    await sleep(200);
  }
}
