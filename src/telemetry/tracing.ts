/**
 * The OpenTelemetry trace SDK of a Maestro process (API, worker, `maestro dev`), configured by the
 * standard `OTEL_*` variables as the OpenTelemetry specification defines them — never by
 * `MAESTRO_*` twins:
 *
 * - `OTEL_SDK_DISABLED=true`: off.
 * - `OTEL_TRACES_EXPORTER`: `otlp` and/or `console`; `none` is off. Unset, traces are on only when an
 *   OTLP endpoint is set (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`):
 *   a process with nowhere to send spans registers nothing, so every span call is the
 *   `@opentelemetry/api` no-op and tracing costs nothing.
 * - `OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL`: `http/protobuf` (default), `http/json` or `grpc`; the
 *   endpoint, headers, timeout and compression are read by the exporter itself.
 * - `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES`: the service (default given by the process:
 *   `maestro-api`, `maestro-worker`, `maestro`).
 * - `OTEL_TRACES_SAMPLER(_ARG)`, `OTEL_BSP_*`, the span limits: read by the trace SDK.
 *
 * Span ids are random, except that {@link PINNED_IDS} lets `spans.ts` give a span an id known in
 * advance (a run's span: every process derives it from the run id, so none has to be told it).
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as OtlpGrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ConsoleSpanExporter, RandomIdGenerator, SimpleSpanProcessor, type IdGenerator, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ConfigError } from '../errors/index.js';

/** The ids the next span started in this thread takes instead of random ones. */
export interface PinnedIds {
  /** For a root span only (a span with a parent takes its parent's trace id). */
  traceId?: string;
  spanId?: string;
}

/**
 * An id generator that hands out ids pinned by {@link PinnedIdGenerator.pin} for the one span
 * started synchronously inside it, random ones otherwise. Safe because span creation is synchronous:
 * nothing else runs between pinning and the tracer asking for the ids.
 */
export class PinnedIdGenerator implements IdGenerator {
  /** The ids of the span being started inside {@link pin}; undefined outside it. */
  private pinned: PinnedIds | undefined;
  /** Where unpinned ids come from. */
  private readonly random = new RandomIdGenerator();

  generateTraceId(): string {
    return this.pinned?.traceId ?? this.random.generateTraceId();
  }

  generateSpanId(): string {
    return this.pinned?.spanId ?? this.random.generateSpanId();
  }

  /** Runs `start` (which starts one span) with `ids` pinned. */
  pin<T>(ids: PinnedIds, start: () => T): T {
    this.pinned = ids;
    try {
      return start();
    } finally {
      this.pinned = undefined;
    }
  }
}

/** The id generator of every tracer provider Maestro builds (see {@link createTracerProvider}). */
export const PINNED_IDS = new PinnedIdGenerator();

/** Options of {@link createTracerProvider}. */
export interface TracerProviderOptions {
  /** `service.name` unless `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES` name one. */
  serviceName: string;
  /** Where spans go. */
  spanProcessors: SpanProcessor[];
}

/**
 * A tracer provider with Maestro's id generator and the `OTEL_*` sampler and limits; not
 * registered. Tests build one over an in-memory exporter.
 */
export function createTracerProvider({ serviceName, spanProcessors }: TracerProviderOptions): NodeTracerProvider {
  const resource = resourceFromAttributes({ 'service.name': serviceName }).merge(detectResources({ detectors: [envDetector] }));
  return new NodeTracerProvider({ resource, idGenerator: PINNED_IDS, spanProcessors });
}

/** Whether the `OTEL_*` variables ask for traces; the exporters named, when they do. */
export function configuredTraceExporters(env: NodeJS.ProcessEnv = process.env): ('otlp' | 'console')[] {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return [];
  const named = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  if (named.length === 0) return (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '').trim() === '' ? [] : ['otlp'];
  if (named.includes('none')) return [];
  const unknown = named.filter((name) => name !== 'otlp' && name !== 'console');
  if (unknown.length > 0) throw new ConfigError(`OTEL_TRACES_EXPORTER names ${unknown.join(', ')}: Maestro exports traces with otlp or console (or none)`);
  return [...new Set(named)] as ('otlp' | 'console')[];
}

/** The OTLP exporter for `OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL`; it reads its endpoint and headers itself. */
function otlpExporter(env: NodeJS.ProcessEnv): SpanExporter {
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf').trim();
  switch (protocol) {
    case 'http/protobuf':
      return new OtlpProtoExporter();
    case 'http/json':
      return new OtlpJsonExporter();
    case 'grpc':
      return new OtlpGrpcExporter();
    default:
      throw new ConfigError(`OTEL_EXPORTER_OTLP_PROTOCOL is "${protocol}": use http/protobuf, http/json or grpc`);
  }
}

/** The running trace SDK of this process (see {@link startTracing}). */
export interface Tracing {
  /** False when nothing is exported: no SDK registered, every span the API's no-op. */
  readonly enabled: boolean;
  /** Exports the spans buffered so far and waits for the export; resolves at once when not enabled. */
  flush(): Promise<void>;
  /** Exports the spans still buffered and stops the SDK; resolves at once when not enabled. */
  shutdown(): Promise<void>;
}

/** The SDK this process registered, so that a second start (API and worker in one process) reuses it. */
let started: Tracing | undefined;

const DISABLED: Tracing = { enabled: false, flush: () => Promise.resolve(), shutdown: () => Promise.resolve() };

/**
 * Whether this process registered a trace SDK: Maestro's span helpers make no span at all when
 * it did not (cheaper than the API's no-op spans).
 */
export function tracingActive(): boolean {
  return started !== undefined;
}

/**
 * Registers `provider` (built by {@link createTracerProvider}) as this process's tracer provider,
 * with W3C trace context propagation; {@link startTracing} does, and tests do with an in-memory
 * exporter. `shutdown` flushes and unregisters it.
 */
export function registerTracing(provider: NodeTracerProvider): Tracing {
  if (started) throw new ConfigError('a trace SDK is registered already in this process');
  // Trace context only: a caller's baggage is not carried into runs, nor on to the systems they call.
  provider.register({ propagator: new W3CTraceContextPropagator() });
  const tracing: Tracing = {
    enabled: true,
    flush: () => provider.forceFlush(),
    async shutdown() {
      if (started !== tracing) return;
      started = undefined;
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
  started = tracing;
  return tracing;
}

/**
 * Starts tracing for this process from the `OTEL_*` variables, before anything else it does
 * (idempotent: a second call returns the first's handle). With no exporter configured it registers
 * nothing. Call `shutdown` when the process drains, after its last run's spans ended.
 *
 * @example
 * const tracing = startTracing('maestro-worker');
 * process.once('SIGTERM', () => void worker.shutdown().then(() => tracing.shutdown()));
 * @throws ConfigError when `OTEL_TRACES_EXPORTER` or the OTLP protocol names what Maestro cannot export with
 */
export function startTracing(serviceName: string, env: NodeJS.ProcessEnv = process.env): Tracing {
  if (started) return started;
  const exporters = configuredTraceExporters(env);
  if (exporters.length === 0) return DISABLED;
  const spanProcessors = exporters.map((name) => (name === 'console' ? new SimpleSpanProcessor(new ConsoleSpanExporter()) : new BatchSpanProcessor(otlpExporter(env))));
  return registerTracing(createTracerProvider({ serviceName, spanProcessors }));
}
