/**
 * Manifest shapes after schema validation. `contracts/workflow.schema.json` and
 * `contracts/runbook.schema.json` are the source of truth; these types mirror them.
 */
import type { ParameterType, RunsOn } from '../ir/index.js';

/** `metadata` of a manifest. */
export interface ManifestMetadata {
  name: string;
  version: string;
  owner?: string;
  description?: string;
  namespace?: string;
  labels?: Record<string, string>;
}

/** A declared parameter (`spec.parameters[]`). */
export interface ParameterManifest {
  name: string;
  type: ParameterType;
  required?: boolean;
  default?: unknown;
  enum?: unknown[];
  secret?: boolean;
  description?: string;
}

/** `retry` of a task; durations as manifest strings (`500ms`, `30s`). */
export interface RetryManifest {
  maxAttempts?: number;
  initialInterval?: string;
  backoffCoefficient?: number;
  maxInterval?: string;
  jitter?: number;
}

/** A task's `forEach`: the list expression alone (`"${expr}"`), or with options. */
export type ForEachManifest = string | { items: string; maxParallel?: number };

/** One task (`spec.tasks[]`). */
export interface TaskManifest {
  id: string;
  uses: string;
  needs?: string[];
  with?: Record<string, unknown>;
  when?: string;
  forEach?: ForEachManifest;
  /** @default 'success' */
  runIf?: 'success' | 'failure' | 'always';
  retry?: RetryManifest;
  timeout?: string;
  continueOnError?: boolean;
  cache?: { enabled?: boolean; ttl?: string };
  runsOn?: RunsOn;
  policy?: { purpose?: string; authority?: string; license?: string };
  labels?: Record<string, string>;
  /** What undoes the task when the run fails after it succeeded (saga). */
  compensate?: CompensateManifest;
}

/** A task's `compensate`: the task that undoes it, run as `<id>.compensate`. */
export interface CompensateManifest {
  uses: string;
  with?: Record<string, unknown>;
  retry?: RetryManifest;
  timeout?: string;
}

/** A `kind: Workflow` manifest. */
export interface WorkflowManifest {
  apiVersion: 'maestro/v1';
  kind: 'Workflow';
  metadata: ManifestMetadata;
  spec: {
    parameters?: ParameterManifest[];
    policy: { purpose: string; authority: string; license: string };
    timeout?: string;
    maxParallel?: number;
    failurePolicy?: 'failFast' | 'continue';
    circuitBreaker?: { maxFailures: number };
    concurrency?: { key: string; limit?: number; onConflict?: 'queue' | 'reject' | 'cancel-running' };
    runsOn?: RunsOn;
    tasks: TaskManifest[];
    /** The run's outputs: one `${...}` each over the params and the tasks' outputs, evaluated when it succeeds. */
    outputs?: Record<string, string>;
    /** Tasks run once everything else has ended, whatever the outcome. */
    finally?: TaskManifest[];
    /** @default '5m' */
    finallyTimeout?: string;
    /** @default false */
    finallyFailsRun?: boolean;
  };
}

/** A `kind: Runbook` manifest: an allow-listed, approvable trigger of a workflow. */
export interface RunbookManifest {
  apiVersion: 'maestro/v1';
  kind: 'Runbook';
  metadata: ManifestMetadata & {
    approvals?: { required: boolean; approvers: string[]; minApprovals?: number };
    allowList?: { roles: string[] };
  };
  spec: {
    inputs: ParameterManifest[];
    /** The workflow's params as `${...}` templates over `inputs`; absent: inputs pass through by name. */
    params?: Record<string, unknown>;
    workflowRef: string;
    dryRun?: boolean;
  };
}

/**
 * A `kind: Trigger` manifest (`contracts/trigger.schema.json`): a webhook or message trigger. The
 * spec is checked further, and its defaults applied, by `src/triggers` (`normalizeTrigger`).
 */
export interface TriggerManifest {
  apiVersion: 'maestro/v1';
  kind: 'Trigger';
  metadata: { name: string; namespace?: string };
  /** The JSON body of `POST /triggers` without `name` and `namespace`. */
  spec: { runbook: string } & Record<string, unknown>;
}

/** Any kind of manifest. */
export type Manifest = WorkflowManifest | RunbookManifest | TriggerManifest;
