/**
 * The API's responses as the console reads them: the schemas of `contracts/openapi.yaml`, from the
 * types `scripts/console.mjs` generates (`schema.d.ts`, git-ignored), so that the console cannot
 * drift from the contract without `tsc -p console` failing. The IR inside a workflow's detail is
 * the engine's own type from src/ir (the contract refers to contracts/ir.schema.json for it).
 */
import type { WorkflowIR } from '../../../src/ir/index.js';
import type { components } from './schema.js';

export type { TaskNode, WorkflowIR } from '../../../src/ir/index.js';

type Schemas = components['schemas'];

/** A run's status as the API reports it (`QUEUED` while the namespace's run limit holds it back). */
export type RunStatus = Schemas['RunStatus'];

/** A task's (or forEach item's) status. */
export type TaskStatus = Schemas['TaskStatus'];

/** The statuses after which a run changes no more. */
export const FINAL_STATUSES: readonly RunStatus[] = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

/** Every run status, in the order filters offer them. */
export const RUN_STATUSES: readonly RunStatus[] = ['QUEUED', 'RUNNING', 'WAITING', 'PAUSED', 'SUCCEEDED', 'FAILED', 'CANCELLED'];

/** One row of `GET /runs`. */
export type RunSummary = Schemas['RunSummary'];

/** `GET /runs`: one page. */
export type RunList = Schemas['RunList'];

/** A task's state inside a run's detail. */
export type TaskState = Schemas['TaskState'];

/** One line of `GET /runs/{runId}/logs` (the `data` of its `log` events). */
export type TaskLogLine = Schemas['TaskLogLine'];

/** The policy context a run is decided on (`RunDetail.policy`). */
export type RunPolicy = Schemas['RunPolicy'];

/** `GET /runs/{runId}`; secret params arrive as "[redacted]". */
export type RunDetail = Schemas['RunDetail'];

/** The `run` event of `GET /runs/{runId}/events`: the detail without params and tasks. */
export type RunEvent = Omit<RunDetail, 'params' | 'tasks'>;

/** `POST /runs`, `POST /runs/{runId}/retry`. */
export type RunCreated = Schemas['RunCreated'];

/** One row of `GET /workflows`. */
export type WorkflowSummary = Schemas['WorkflowSummary'];

/** `GET /workflows/{name}/versions/{version}`, its IR typed as the engine's. */
export type WorkflowDetail = Omit<Schemas['WorkflowDetail'], 'ir'> & { ir: WorkflowIR };

/** One row of `GET /schedules`. */
export type ScheduleSummary = Schemas['ScheduleSummary'];

/** `GET /schedules/{id}`: the definition, state, next fire times and recent runs. */
export type ScheduleDetail = Schemas['ScheduleDetail'];

/** `GET /triggers/{name}`, one item of `GET /triggers`. */
export type Trigger = Schemas['Trigger'];

/** `GET /operations`: the operations view of a namespace over a window. */
export type OperationsReport = Schemas['OperationsReport'];

/** An RFC 9457 problem as the API sends it. */
export type Problem = Schemas['Problem'];

/**
 * `GET /console/config.json`: what the API tells the console about its surroundings. Not an API
 * operation (the console's own route, `src/api/console.ts`), so not in the contract.
 */
export interface ConsoleConfig {
  /** Base URL of the Temporal Web UI, when the API knows one. */
  temporalUiUrl?: string;
  /** The Temporal namespace runs live in (for Web UI links). */
  temporalNamespace: string;
}

/** `GET /usage`: a namespace's usage over a window, and its budget. */
export type Usage = Schemas['Usage'];

/** One row of `GET /runbooks`: a version, its inputs and who may trigger it. */
export type RunbookSummary = Schemas['RunbookSummary'];

/** A dry run's answer from `POST /runbooks/trigger`: the plan and the policy's decisions; nothing started. */
export type RunbookPlan = Schemas['Plan'];

/** One decision of the policy. */
export type PolicyDecision = Schemas['PolicyDecision'];

/** One gate of `GET /approvals`: waiting in a run, and the caller may decide it. */
export type PendingApproval = Schemas['PendingApproval'];

/** One task version of `GET /tasks`. */
export type CatalogTask = Schemas['CatalogTask'];

/** `GET /runs/{runId}/receipt/verification`: the receipt as the API verified it, offline. */
export type ReceiptVerification = Schemas['ReceiptVerification'];

/** `GET /audit`: one page of the audit log. */
export type AuditPage = Schemas['AuditPage'];

/** One record of the audit log. */
export type AuditRecord = Schemas['AuditRecord'];

/** `GET /audit/verification`: the hash chain, walked. */
export type AuditChainReport = Schemas['AuditChainReport'];
