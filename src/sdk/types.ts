/**
 * The public task ABI: what a task author writes (`defineTask`) and what a task sees at run time
 * (`TaskContext`).
 */
import type { EgressGuard } from '../egress/index.js';
import type { RemoteTaskRef, TaskExecution } from '../ir/types.js';

/**
 * A JSON Schema object describing a task's input or output: 2020-12 unless its `$schema` names
 * draft-07 or 2019-09.
 */
export type JsonSchema = Record<string, unknown>;

/** Structured logger whose lines land in the run's task log. */
export interface TaskLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** A progress or artifact event a task emits while it runs. */
export interface TaskEvent {
  type: string;
  [field: string]: unknown;
}

/**
 * Where a task sends a secret's value, for the secret's destination check (see
 * {@link TaskContext.secrets}).
 *
 * @example
 * await ctx.secrets('nats-token', { host: 'nats.internal' });
 * await ctx.secrets('kafka-password', { host: ['b1.kafka.internal', 'b2.kafka.internal'] });
 * // The value is itself an address (a webhook URL, a connection string): its own host is checked.
 * await ctx.secrets('SLACK_WEBHOOK_URL', { host: (url) => new URL(url).hostname });
 */
export interface SecretUse {
  /**
   * The host name (or IP literal, without port or brackets) the value is sent to; several when it
   * goes to each of them (Kafka brokers, NATS servers); or, for a value that is itself an address,
   * a function reading the host from the value (returning `undefined` when it names none).
   * @default undefined — the value is sent nowhere the task can name (a container's environment):
   * only secrets bound to no host resolve
   */
  host?: string | readonly string[] | ((value: string) => string | undefined);
}

/** What a running task can use. Created per attempt by the `runTask` activity. */
export interface TaskContext {
  runId: string;
  taskId: string;
  /** 1-based attempt number. */
  attempt: number;
  /** Maestro namespace of the run. */
  namespace: string;
  /**
   * Aborted when the run is cancelled or the attempt times out; pass it to every I/O call. Once it
   * has aborted, a task stops and throws `signal.reason` (`signal.throwIfAborted()` does), so the
   * activity layer sees the cancellation it asked for rather than a task failure.
   */
  signal: AbortSignal;
  logger: TaskLogger;
  /** Records liveness (and optional progress) with Temporal; long tasks call it regularly. */
  heartbeat(details?: unknown): void;
  /**
   * The egress guard of the run's namespace: every connection the task opens goes through it
   * (`target` for clients given an address, `socket` for clients that take a socket, `httpAgent` /
   * `httpsAgent` for Node's HTTP stack), so the address is checked at connect time against the
   * namespace's allow-list and Maestro's own endpoints.
   */
  egress: EgressGuard;
  /**
   * Resolves a secret by name inside the activity; the value never enters workflow history or logs.
   * A task that sends the value somewhere says where with `use.host`: a secret bound to hosts is
   * refused (`SECRET_FORBIDDEN`, before anything is sent) when `use.host` is missing or names a host
   * the secret is not bound to, and so is a secret the run's namespace may not use.
   */
  secrets(name: string, use?: SecretUse): Promise<string>;
  emit(event: TaskEvent): void;
}

/** Fields every task definition has. */
interface TaskDefinitionBase {
  /** Catalog name, `group/name`, e.g. `tasks/http.request`. */
  name: string;
  /** Exact semver version. */
  version: string;
  description: string;
  input: JsonSchema;
  output: JsonSchema;
  /**
   * Same inputs always give the same outputs (the cache may reuse them; replay expects equality).
   * @default false
   */
  deterministic?: boolean;
}

/** A task the worker executes: a Temporal activity (or local activity for short pure tasks). */
export interface ExecutableTaskDefinition<In = Record<string, unknown>, Out = unknown> extends TaskDefinitionBase {
  /** @default 'activity' */
  execution?: 'activity' | 'local-activity';
  /** Runs once per worker process before the first execution. */
  init?(): Promise<void>;
  /** Checks input beyond its JSON Schema; throws a TaskError with code TASK_INPUT_INVALID. */
  validate?(input: In): void;
  execute(input: In, ctx: TaskContext): Promise<Out>;
}

/** A task the interpreter itself carries out (durable timer, approval gate, signal wait): no code to run. */
export interface BuiltinTaskDefinition extends TaskDefinitionBase {
  execution: Extract<TaskExecution, 'timer' | 'approval' | 'signal'>;
}

/**
 * A task an external worker (e.g. Python) registered with `POST /tasks` in one namespace: its code
 * runs on that worker, as the activity `maestro.task:<name>@<version>` on {@link RemoteTaskRef.taskQueue}.
 */
export interface RemoteTaskDefinition extends TaskDefinitionBase {
  execution: 'remote';
  remote: RemoteTaskRef;
}

/** Any catalog entry. */
// The catalog holds tasks of every input and output type; `runTask` checks each input against its
// task's JSON Schema before `execute` sees it, so the erased types are restored at run time.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type TaskDefinition = ExecutableTaskDefinition<any, any> | BuiltinTaskDefinition | RemoteTaskDefinition;
