/**
 * Maestro's side of tracing. The trace SDK itself is configured by OpenTelemetry's own `OTEL_*`
 * variables (see src/telemetry/tracing.ts), never re-declared here; this section holds only what
 * OpenTelemetry has no variable for.
 */
import { Type } from '@sinclair/typebox';
import { optional, section, type SettingsOf } from '../setting.js';

const text = Type.String({ minLength: 1 });

/** Tracing: the trace UI a run's trace id links to; the local Jaeger of `maestro dev --traces`. */
export const tracingSection = section('tracing', 'Tracing: where the run detail (API, CLI, console) links a run\'s trace id. The trace SDK reads the standard OTEL_* variables (see docs/operations.md).', {
  traceUiUrl: optional(Type.String({ format: 'url', pattern: '^https?://.*\\{traceId\\}', maxLength: 2_048 }), {
    env: 'MAESTRO_TRACE_UI_URL',
    unset: 'none: the run detail shows the trace id without a link',
    description: 'URL of a run\'s trace in your trace UI, `{traceId}` standing for the trace id, e.g. `http://localhost:16686/trace/{traceId}` (Jaeger). `maestro dev --traces` sets it to its Jaeger.',
  }),
  jaegerBin: optional(text, {
    env: 'MAESTRO_JAEGER_BIN',
    path: true,
    unset: '`jaeger` on PATH, then `.tools/bin/jaeger` (`maestro dev --traces` builds it there on first use)',
    description: 'Jaeger all-in-one binary that `maestro dev --traces` starts.',
  }),
});

/** Tracing settings (see {@link tracingSection}). */
export type TracingSettings = SettingsOf<typeof tracingSection>;
