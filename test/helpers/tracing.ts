/**
 * An OpenTelemetry SDK for the test process, as a worker that traces would register one: spans
 * kept in memory, W3C trace context as the propagator, async context across awaits. Connectors run
 * in process in tests, so what they send carries this process's trace context.
 */
import { context, propagation, trace, type Span } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { localRunner, type Runner } from '../../src/runners/index.js';

/** The test process's tracing: what it exported, and a way to run code inside a span. */
export interface TestTracing {
  /** Every span ended since the last {@link TestTracing.reset}. */
  spans(): ReadableSpan[];
  /** The ended spans named `name` (fails the test when there is none). */
  span(name: string): ReadableSpan;
  reset(): void;
  /** Runs `fn` with a new span active (as a task attempt's is in a traced worker), then ends it. */
  inSpan<T>(name: string, fn: (span: Span) => Promise<T>): Promise<T>;
}

let installed: TestTracing | undefined;

/** Registers the SDK once per test process (OTel's globals are per process) and returns it. */
export function installTestTracing(): TestTracing {
  if (installed) return installed;
  // A file before this one in the same process may have registered its own: start from none.
  trace.disable();
  propagation.disable();
  context.disable();
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  const tracer = trace.getTracer('maestro-tests');
  installed = {
    spans: () => exporter.getFinishedSpans(),
    span: (name) => {
      const found = exporter.getFinishedSpans().find((span) => span.name === name);
      if (!found) throw new Error(`no span "${name}"; spans: ${exporter.getFinishedSpans().map((span) => span.name).join(', ')}`);
      return found;
    },
    reset: () => exporter.reset(),
    inSpan: (name, fn) => tracer.startActiveSpan(name, (span) => fn(span).finally(() => span.end())),
  };
  return installed;
}

/** Name of the span {@link tracedRunner} wraps every attempt in. */
export const ATTEMPT_SPAN = 'test attempt';

/**
 * The local runner, each attempt inside an active {@link ATTEMPT_SPAN} span: in the real worker,
 * the task attempt's span is the active one while the task's code runs.
 */
export function tracedRunner(tracing: TestTracing): Runner {
  return { run: (definition, input, ctx) => tracing.inSpan(ATTEMPT_SPAN, () => localRunner.run(definition, input, ctx)) };
}

/** The `traceparent` a receiver sees for a call made in `span`: its trace and, as parent, `span`. */
export function traceparentOf(span: ReadableSpan): string {
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-${traceFlags.toString(16).padStart(2, '0')}`;
}

/** The parent span id of `span` (undefined for a root). */
export function parentSpanId(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}
