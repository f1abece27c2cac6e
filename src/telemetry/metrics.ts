/**
 * The metrics of a Maestro process: one OpenTelemetry meter provider per process (API, worker,
 * `maestro dev` which is both), every instrument Maestro records declared once in
 * {@link INSTRUMENTS} (their names and labels are a contract: alerting rules and dashboards are
 * written against them), read two ways:
 * - Prometheus text, always: the API's `GET /metrics` and the worker's endpoint
 *   ({@link ProcessMetrics.listen}), with foreign expositions appended (Temporal Core's `temporal_*`);
 * - OTLP, pushed every `OTEL_METRIC_EXPORT_INTERVAL` ms, when the standard `OTEL_*` variables ask
 *   for it (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`, or
 *   `OTEL_METRICS_EXPORTER=otlp`), over `http/protobuf` (the specification's default) or `http/json`.
 *
 * Every label value goes through a {@link LabelGuard} first: labels whose values workflow authors
 * choose (namespace, workflow, task, uses, trigger …) keep at most a configured number of distinct
 * values per instrument; the rest are folded into `other` and counted by
 * `maestro_metric_labels_folded`. Run ids, trace ids and principals are never labels.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { metrics as globalMetrics, type Attributes, type Counter, type Histogram, type Meter, type MeterProvider as ApiMeterProvider, type ObservableGauge, type ObservableResult } from '@opentelemetry/api';
import { OTLPMetricExporter as OtlpJsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OtlpProtobufMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type IMetricReader } from '@opentelemetry/sdk-metrics';
import type { MetricsSettings } from '../config/index.js';
import { ConfigError, isErrorCode } from '../errors/index.js';
import { serveProbe, type Probes } from './probes.js';

/** Latency buckets (seconds) from 1 ms to 10 s: API calls and queue hand-overs are meant to be milliseconds. */
const FAST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Task and wait buckets (seconds) from 10 ms to an hour. */
const TASK_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600];
/** Recovery buckets (seconds) from a minute to a week. */
const RECOVERY_BUCKETS = [60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 86_400, 3 * 86_400, 7 * 86_400];

interface InstrumentSpec {
  kind: 'counter' | 'histogram' | 'gauge';
  labels: readonly string[];
  description: string;
  buckets?: readonly number[];
}

/**
 * Every instrument Maestro records, by name. Prometheus adds `_total` to counters and
 * `_bucket`/`_sum`/`_count` to histograms; `docs/operations.md` lists them (a test keeps both equal).
 */
export const INSTRUMENTS = {
  maestro_http_request_duration_seconds: { kind: 'histogram', labels: ['method', 'route', 'status'], description: 'HTTP request latency of the Maestro API, by route template', buckets: FAST_BUCKETS },
  maestro_runs_started: { kind: 'counter', labels: ['namespace', 'workflow', 'started_by_kind'], description: 'Runs started through the run-start path (API, CLI, schedules, webhooks, message triggers, retries, replays)' },
  maestro_runs_finished: { kind: 'counter', labels: ['namespace', 'workflow', 'status'], description: 'Runs finished, by status (SUCCEEDED, FAILED, CANCELLED)' },
  maestro_task_duration_seconds: { kind: 'histogram', labels: ['namespace', 'workflow', 'task', 'status'], description: 'Duration of the tasks of finished runs', buckets: TASK_BUCKETS },
  maestro_workflow_recovery_seconds: { kind: 'histogram', labels: ['namespace', 'workflow'], description: 'Time from the end of a workflow\'s failed run to the end of its next successful run (MTTR)', buckets: RECOVERY_BUCKETS },
  maestro_run_queue_seconds: { kind: 'histogram', labels: ['namespace'], description: 'Time a run waited in its namespace\'s admission queue before it started', buckets: TASK_BUCKETS },
  maestro_admission_queue_depth: { kind: 'gauge', labels: ['namespace'], description: 'Runs waiting in the admission queue of a namespace with a run limit' },
  maestro_task_attempts: { kind: 'counter', labels: ['namespace', 'workflow', 'task', 'uses', 'runner', 'outcome', 'code'], description: 'Task attempts, by outcome (succeeded, failed, cancelled, denied, cached) and error code' },
  maestro_task_attempt_duration_seconds: { kind: 'histogram', labels: ['namespace', 'workflow', 'task', 'runner', 'outcome'], description: 'Duration of one task attempt in the worker', buckets: TASK_BUCKETS },
  maestro_task_cache_hits: { kind: 'counter', labels: ['namespace', 'workflow', 'task'], description: 'Task attempts answered from the task cache' },
  maestro_policy_denials: { kind: 'counter', labels: ['namespace', 'workflow', 'stage'], description: 'Policy denials, by stage (run_start, task_attempt)' },
  maestro_runner_queue_seconds: { kind: 'histogram', labels: ['runner'], description: 'Time a task attempt waited for its runner to run it: a Kubernetes Job\'s pod waiting for a node and its image', buckets: TASK_BUCKETS },
  maestro_task_schedule_to_start_seconds: { kind: 'histogram', labels: ['task_queue'], description: 'Time a task attempt waited on its Temporal task queue for a worker (activity scheduled → started)', buckets: FAST_BUCKETS },
  maestro_trigger_consumer_lag: { kind: 'gauge', labels: ['trigger', 'source'], description: 'Messages waiting for a message trigger: not yet delivered, or delivered and not acknowledged' },
  maestro_trigger_messages: { kind: 'counter', labels: ['trigger', 'outcome'], description: 'Messages settled by message triggers, by outcome (started, duplicate, ignored, refused, poison, retry)' },
  maestro_usage_write_failures: { kind: 'counter', labels: ['table'], description: 'Usage ledger rows (task attempts, runs) the worker could not write' },
  maestro_budget_used_ratio: { kind: 'gauge', labels: ['namespace'], description: 'Usage of each namespace\'s budget in its current period, as a fraction of the limit (1 = spent)' },
  maestro_metric_labels_folded: { kind: 'counter', labels: ['metric', 'label'], description: 'Label values folded into `other` because the label reached its cap of distinct values' },
} as const satisfies Record<string, InstrumentSpec>;

type Instruments = typeof INSTRUMENTS;
/** The name of an instrument of kind `K`. */
export type InstrumentName<K extends InstrumentSpec['kind']> = { [N in keyof Instruments]: Instruments[N]['kind'] extends K ? N : never }[keyof Instruments];
/** The labels of instrument `N`, every one given (empty when it does not apply). */
export type LabelsOf<N extends keyof Instruments> = Record<Instruments[N]['labels'][number], string>;

/** Caps of {@link LabelGuard}. */
export interface LabelCaps {
  /**
   * Distinct workflows (namespace and name) one instrument keeps.
   * @default 500
   */
  maxWorkflows?: number;
  /**
   * Distinct tasks (namespace, workflow and task id) one instrument keeps.
   * @default 2000
   */
  maxTasks?: number;
  /**
   * Distinct values of any other label one instrument keeps.
   * @default 200
   */
  maxLabelValues?: number;
}

/** The value a label takes once its cap is reached. */
export const FOLDED = 'other';
/** Longest label value kept; a longer one is cut (ids are far shorter; this bounds a hostile one). */
const MAX_VALUE_LENGTH = 128;

/**
 * Bounds the distinct values of each label of each instrument. A value seen before passes; a new
 * one passes while the label has room, else becomes {@link FOLDED} and `onFold` is told. A `task`
 * value counts with its namespace and workflow, a `workflow` value with its namespace, so the cap
 * of `task` bounds the (namespace, workflow, task) combinations of the whole instrument.
 */
export class LabelGuard {
  /** Values admitted, by instrument and label, each kept with its scope. */
  private readonly admitted = new Map<string, Map<string, Set<string>>>();
  private readonly caps: Required<LabelCaps>;

  constructor(
    caps: LabelCaps = {},
    private readonly onFold: (metric: string, label: string) => void = () => undefined,
  ) {
    this.caps = { maxWorkflows: caps.maxWorkflows ?? 500, maxTasks: caps.maxTasks ?? 2000, maxLabelValues: caps.maxLabelValues ?? 200 };
  }

  /** The labels to record for `metric`: each value admitted, cut, or folded. */
  bound(metric: string, labels: Readonly<Record<string, string>>): Attributes {
    let slots = this.admitted.get(metric);
    if (slots === undefined) this.admitted.set(metric, (slots = new Map()));
    const out: Record<string, string> = {};
    // Scoping labels first, so a task is counted within the workflow value actually recorded.
    if (labels.namespace !== undefined) out.namespace = this.admit(metric, slots, 'namespace', '', labels.namespace);
    if (labels.workflow !== undefined) out.workflow = this.admit(metric, slots, 'workflow', out.namespace ?? '', labels.workflow);
    for (const label in labels) {
      if (label === 'namespace' || label === 'workflow') continue;
      const scope = label === 'task' ? `${out.namespace ?? ''}\0${out.workflow ?? ''}` : '';
      out[label] = this.admit(metric, slots, label, scope, labels[label] ?? '');
    }
    return out;
  }

  private admit(metric: string, slots: Map<string, Set<string>>, label: string, scope: string, raw: string): string {
    const value = raw.length > MAX_VALUE_LENGTH ? raw.slice(0, MAX_VALUE_LENGTH) : raw;
    if (value === FOLDED) return value;
    let values = slots.get(label);
    if (values === undefined) slots.set(label, (values = new Set()));
    const key = scope === '' ? value : `${scope}\0${value}`;
    if (values.has(key)) return value;
    if (values.size < this.cap(label)) {
      values.add(key);
      return value;
    }
    this.onFold(metric, label);
    return FOLDED;
  }

  private cap(label: string): number {
    if (label === 'workflow') return this.caps.maxWorkflows;
    if (label === 'task') return this.caps.maxTasks;
    return this.caps.maxLabelValues;
  }
}

/**
 * The `code` label of an error code: Maestro's own codes as they are, anything else (a task's
 * invented code, a Temporal failure type) `OTHER`, so the label stays a closed set.
 */
export function errorCodeLabel(code: unknown): string {
  return isErrorCode(code) ? code : 'OTHER';
}

/**
 * The `task` label of a task id: a forEach item's index (`deploy[17]`) is dropped, so a fan-out of
 * 10,000 items is one series, not 10,000.
 */
export function taskLabel(taskId: string): string {
  const bracket = taskId.indexOf('[');
  return bracket === -1 ? taskId : taskId.slice(0, bracket);
}

/** One observation of a gauge. */
export type GaugeReading<N extends InstrumentName<'gauge'>> = readonly [value: number, labels: LabelsOf<N>];

/** The metrics of this process; see {@link processMetrics}. */
export interface ProcessMetrics {
  /** The provider itself, for instrumentation that takes one (meters of libraries). */
  readonly meterProvider: ApiMeterProvider;
  /** Adds to a counter. */
  add<N extends InstrumentName<'counter'>>(name: N, value: number, labels: LabelsOf<N>): void;
  /** Records a histogram value. */
  record<N extends InstrumentName<'histogram'>>(name: N, value: number, labels: LabelsOf<N>): void;
  /**
   * Reads a gauge's values at each collection (a scrape, an OTLP export) from `read`, which may
   * be asynchronous (a bounded store query). @returns a function that stops reading it.
   */
  observe<N extends InstrumentName<'gauge'>>(name: N, read: () => Iterable<GaugeReading<N>> | Promise<Iterable<GaugeReading<N>>>): () => void;
  /**
   * Appends another source's Prometheus text to this process's exposition (Temporal Core's
   * runtime metrics). A source that fails is left out of that scrape, noted in a comment line.
   */
  addExposition(read: () => Promise<string>): void;
  /** The Prometheus text, as `/metrics` serves it. */
  text(): Promise<string>;
  /** Answers a `GET /metrics` with {@link ProcessMetrics.text}. */
  serve(req: IncomingMessage, res: ServerResponse): void;
  /**
   * Serves `GET /metrics` on `host:port` (0: any free port), and `GET /healthz` and `/readyz` with
   * `probes` when given; no token: bind it where only the scraper and the orchestrator reach it.
   */
  listen(host: string, port: number, probes?: Probes): Promise<{ url: string; close(): Promise<void> }>;
  /** Exports what OTLP has not sent yet (before a process ends). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** Options of {@link createProcessMetrics}. */
export interface ProcessMetricsOptions extends LabelCaps {
  /**
   * `service.name` of the resource, unless `OTEL_SERVICE_NAME` (or `OTEL_RESOURCE_ATTRIBUTES`) names one.
   * @default 'maestro'
   */
  serviceName?: string;
  /**
   * Where the `OTEL_*` variables are read.
   * @default process.env
   */
  env?: Readonly<Record<string, string | undefined>>;
}

/** The label caps of the `metrics` settings. */
export function metricsOptions(settings: Pick<MetricsSettings, 'metricsMaxWorkflows' | 'metricsMaxTasks' | 'metricsMaxLabelValues'>): LabelCaps {
  return { maxWorkflows: settings.metricsMaxWorkflows, maxTasks: settings.metricsMaxTasks, maxLabelValues: settings.metricsMaxLabelValues };
}

/**
 * The OTLP reader the `OTEL_*` variables ask for, or none. OTLP is on when `OTEL_METRICS_EXPORTER`
 * lists `otlp`, or when it is unset and an OTLP endpoint is: no endpoint, no export and no cost.
 * The endpoint comes from `env`; the exporter reads the headers, timeout and temporality
 * preference from the process's environment, as the specification defines them.
 * @throws ConfigError `CONFIG_INVALID` for a protocol other than `http/protobuf` or `http/json`.
 */
export function otlpMetricReader(env: Readonly<Record<string, string | undefined>>): IMetricReader | undefined {
  const exporters = env.OTEL_METRICS_EXPORTER?.split(',').map((name) => name.trim().toLowerCase()).filter((name) => name !== '');
  const endpoint = env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const wanted = exporters === undefined || exporters.length === 0 ? endpoint !== undefined && endpoint !== '' : exporters.includes('otlp');
  if (!wanted) return undefined;
  const protocol = (env.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf').trim();
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
    throw new ConfigError(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol}: Maestro exports metrics over http/protobuf or http/json`);
  }
  // The signal's endpoint as it is, the generic one with the signal's path appended (as the specification says).
  const url = env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT ?? (endpoint === undefined || endpoint === '' ? undefined : `${endpoint.replace(/\/+$/, '')}/v1/metrics`);
  const options = url === undefined ? {} : { url };
  const exporter = protocol === 'http/json' ? new OtlpJsonMetricExporter(options) : new OtlpProtobufMetricExporter(options);
  const interval = positiveInteger(env.OTEL_METRIC_EXPORT_INTERVAL, 60_000);
  const timeout = Math.min(positiveInteger(env.OTEL_METRIC_EXPORT_TIMEOUT, 30_000), interval);
  return new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: interval, exportTimeoutMillis: timeout });
}

function positiveInteger(text: string | undefined, fallback: number): number {
  const value = text === undefined ? Number.NaN : Number(text);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

/**
 * A meter provider with every Maestro instrument, read by Prometheus and, when configured, OTLP.
 * Not registered anywhere: a process uses {@link processMetrics}; tests make their own.
 */
export function createProcessMetrics(options: ProcessMetricsOptions = {}): ProcessMetrics {
  const { serviceName = 'maestro', env = process.env } = options;
  const prometheus = new PrometheusExporter({ preventServerStart: true });
  const otlp = otlpMetricReader(env);
  // Detected after the default, so OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over serviceName.
  const resource = defaultResource().merge(resourceFromAttributes({ 'service.name': serviceName })).merge(detectResources({ detectors: [envDetector] }));
  const provider = new MeterProvider({ resource, readers: otlp === undefined ? [prometheus] : [prometheus, otlp] });
  const meter: Meter = provider.getMeter('maestro');
  const counters = new Map<string, Counter>();
  const histograms = new Map<string, Histogram>();
  const gauges = new Map<string, ObservableGauge>();
  for (const [name, spec] of Object.entries(INSTRUMENTS) as [string, InstrumentSpec][]) {
    if (spec.kind === 'counter') counters.set(name, meter.createCounter(name, { description: spec.description }));
    else if (spec.kind === 'histogram') histograms.set(name, meter.createHistogram(name, { description: spec.description, unit: 's', advice: { explicitBucketBoundaries: [...(spec.buckets ?? [])] } }));
    else gauges.set(name, meter.createObservableGauge(name, { description: spec.description }));
  }
  const folded = counters.get('maestro_metric_labels_folded');
  const guard = new LabelGuard(options, (metric, label) => folded?.add(1, { metric, label }));
  const expositions: (() => Promise<string>)[] = [];
  const serializer = new PrometheusSerializer();

  const text = async (): Promise<string> => {
    const own = serializer.serialize((await prometheus.collect()).resourceMetrics);
    const foreign = await Promise.all(expositions.map((read) => read().catch((error: unknown) => `# a metrics source failed: ${String(error).replaceAll('\n', ' ')}\n`)));
    return [own, ...foreign].join('');
  };
  const serve = (_req: IncomingMessage, res: ServerResponse): void => {
    text().then(
      (body) => {
        res.statusCode = 200;
        res.setHeader('content-type', 'text/plain; version=0.0.4; charset=utf-8');
        res.end(body);
      },
      (error: unknown) => {
        res.statusCode = 500;
        res.end(`# collecting the metrics failed: ${String(error)}\n`);
      },
    );
  };

  return {
    meterProvider: provider,
    add: (name, value, labels) => counters.get(name)?.add(value, guard.bound(name, labels)),
    record: (name, value, labels) => histograms.get(name)?.record(value, guard.bound(name, labels)),
    observe: (name, read) => {
      const gauge = gauges.get(name);
      const callback = async (result: ObservableResult): Promise<void> => {
        for (const [value, labels] of await read()) result.observe(value, guard.bound(name, labels));
      };
      gauge?.addCallback(callback);
      return () => gauge?.removeCallback(callback);
    },
    addExposition: (read) => {
      expositions.push(read);
    },
    text,
    serve,
    listen: async (host, port, probes) => {
      const server: Server = createServer((req, res) => {
        if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') serve(req, res);
        else if (probes === undefined || !serveProbe(req, res, probes)) {
          res.statusCode = 404;
          res.end();
        }
      });
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
      const { port: bound } = server.address() as AddressInfo;
      const shown = host.includes(':') ? `[${host}]` : host;
      return { url: `http://${shown}:${bound}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
    },
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

let current: ProcessMetrics | undefined;

/**
 * This process's metrics: created by the first call (with its options; later calls get the same
 * provider and ignore theirs) and registered as the global meter provider of `@opentelemetry/api`,
 * so instrumentation that only knows the API records into it too.
 */
export function processMetrics(options: ProcessMetricsOptions = {}): ProcessMetrics {
  if (current !== undefined) return current;
  const created = createProcessMetrics(options);
  globalMetrics.setGlobalMeterProvider(created.meterProvider);
  current = created;
  return created;
}
