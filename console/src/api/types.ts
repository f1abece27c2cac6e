/**
 * The API's responses as the console reads them (contracts/openapi.yaml). Task and IR shapes are
 * the engine's own types from src/ir.
 */
import type { TaskErrorInfo, TaskState, WorkflowIR } from '../../../src/ir/index.js';

export type { TaskErrorInfo, TaskState, TaskStatus, WorkflowIR, TaskNode } from '../../../src/ir/index.js';

/** A run's status as the API reports it (`QUEUED` while the namespace's run limit holds it back). */
export type RunStatus = 'QUEUED' | 'RUNNING' | 'WAITING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

/** The statuses after which a run changes no more. */
export const FINAL_STATUSES: readonly RunStatus[] = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

/** Every run status, in the order filters offer them. */
export const RUN_STATUSES: readonly RunStatus[] = ['QUEUED', 'RUNNING', 'WAITING', 'SUCCEEDED', 'FAILED', 'CANCELLED'];

/** One row of `GET /runs`. */
export interface RunSummary {
  runId: string;
  workflowRef: string;
  digest?: string;
  namespace: string;
  status: RunStatus;
  startedAt: string;
  endedAt?: string;
}

/** `GET /runs`: one page. */
export interface RunList {
  items: RunSummary[];
  nextPageToken?: string;
}

/** One line of `GET /runs/{runId}/logs` (the `data` of its `log` events). */
export interface TaskLogLine {
  /** 1, 2, 3 … per run. */
  seq: number;
  taskId: string;
  attempt: number;
  time: string;
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields?: Record<string, unknown>;
}

/** The policy context a run is decided on (`RunDetail.policy`). */
export interface RunPolicy {
  purpose: string;
  authority: string;
  license: string;
  principal?: { subject: string; roles: string[]; namespaces: string[] };
}

/** `GET /runs/{runId}`. */
export interface RunDetail {
  runId: string;
  workflowRef: string;
  digest: string;
  namespace: string;
  status: RunStatus;
  /** Secret params arrive as "[redacted]". */
  params: Record<string, unknown>;
  priority?: number;
  startedBy?: string;
  startedAt?: string;
  endedAt?: string;
  error?: TaskErrorInfo;
  policy?: RunPolicy;
  tasks: TaskState[];
}

/** The `run` event of `GET /runs/{runId}/events`: the detail without params and tasks. */
export type RunEvent = Omit<RunDetail, 'params' | 'tasks'>;

/** `POST /runs`, `POST /runs/{runId}/retry`. */
export interface RunCreated {
  runId: string;
  status: RunStatus;
  workflowRef: string;
  namespace: string;
  retryOf?: string;
}

/** One row of `GET /workflows`. */
export interface WorkflowSummary {
  /** The namespace it is registered in. */
  namespace: string;
  name: string;
  version: string;
  digest: string;
  createdAt: string;
  createdBy: string;
}

/** `GET /workflows/{name}/versions/{version}`. */
export interface WorkflowDetail extends WorkflowSummary {
  manifest: string;
  ir: WorkflowIR;
}

/** An RFC 9457 problem as the API sends it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: string;
  instance?: string;
  reasons?: string[];
  errors?: { path: string; message: string; line?: number; column?: number }[];
}

/** `GET /console/config.json`: what the API tells the console about its surroundings. */
export interface ConsoleConfig {
  /** Base URL of the Temporal Web UI, when the API knows one. */
  temporalUiUrl?: string;
  /** The Temporal namespace runs live in (for Web UI links). */
  temporalNamespace: string;
}
