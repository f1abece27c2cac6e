/**
 * A real Jaeger (all-in-one, in memory) for the tracing tests: installed through the project's
 * `scripts/jaeger.mjs` on first use (built from its Go module, minutes cold), started on free
 * ports by the same code as `maestro dev --traces`, and read through its HTTP query API.
 */
import { join } from 'node:path';
import { resolveJaegerBin, startJaeger, type RunningJaeger } from '../../src/devserver/index.js';
import { REPO_ROOT, runScript } from './install.js';

/** One span as Jaeger's query API (`/api/traces/{id}`) returns it. */
export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: string; traceID: string; spanID: string }[];
  tags: { key: string; type: string; value: unknown }[];
  processID: string;
}

/** A running Jaeger. */
export interface JaegerPeer extends RunningJaeger {
  /** The spans of trace `traceId` Jaeger holds (none when it has no such trace). */
  spans(traceId: string): Promise<JaegerSpan[]>;
}

/**
 * Starts Jaeger, installing it first when missing.
 * @throws PeerInstallError or the start's ConfigError, with Jaeger's output.
 */
export async function startJaegerPeer(): Promise<JaegerPeer> {
  await runScript(process.execPath, [join(REPO_ROOT, 'scripts', 'jaeger.mjs')]);
  const jaeger = await startJaeger({ bin: resolveJaegerBin(process.env.MAESTRO_JAEGER_BIN) });
  return {
    ...jaeger,
    async spans(traceId) {
      const response = await fetch(`${jaeger.uiUrl}/api/traces/${traceId}`);
      if (response.status === 404) return [];
      if (!response.ok) throw new Error(`Jaeger answered ${response.status}: ${await response.text()}`);
      const body = (await response.json()) as { data: { spans: JaegerSpan[] }[] };
      return body.data.flatMap((trace) => trace.spans);
    },
  };
}
