/**
 * What the control plane keeps besides Temporal: the registry (workflow manifests and their IRs,
 * runbooks), idempotency keys of `POST /runs`, and the admission queue of namespaces with a
 * concurrent-run limit. Run state itself lives in Temporal.
 */
import type { Principal, WorkflowIR } from '../ir/index.js';
import type { RunbookManifest } from '../manifest/index.js';
import type { OperationsQuery, OperationsReport } from './operations.js';
import type { RegisteredTaskStore } from './registered-tasks.js';
import type { RunProgressStore } from './run-progress.js';
import type { UsageLedger } from './usage-ledger.js';

/** A registered workflow version. */
export interface WorkflowRecord {
  /** The namespace it is registered in: names resolve only inside it. */
  namespace: string;
  name: string;
  version: string;
  /** Digest of the IR, `sha256:<hex>`. */
  digest: string;
  createdAt: string;
  /** Name of the principal who registered it. */
  createdBy: string;
}

/** A registered workflow version with its manifest text and IR. */
export interface WorkflowEntry extends WorkflowRecord {
  /** The manifest as submitted (YAML or JSON text). */
  manifest: string;
  ir: WorkflowIR;
}

/** A registered runbook version. */
export interface RunbookRecord {
  /** The namespace it is registered in: names resolve only inside it. */
  namespace: string;
  name: string;
  version: string;
  /** Digest of the runbook document (canonical JSON). */
  digest: string;
  workflowRef: string;
  createdAt: string;
  createdBy: string;
}

/** A registered runbook version with its manifest text and validated document. */
export interface RunbookEntry extends RunbookRecord {
  manifest: string;
  document: RunbookManifest;
}

/** Outcome of a `put`: a new entry, or the identical entry already there. */
export type PutOutcome = 'created' | 'unchanged';

/** A run held by the admission queue of a namespace with a concurrent-run limit. */
export interface AdmissionEntry {
  runId: string;
  namespace: string;
  /** `queued`: waiting for a slot; `admitted`: holds a slot (started, or being started). */
  state: 'queued' | 'admitted';
  enqueuedAt: string;
  /** Everything needed to start the run on Temporal (JSON). */
  request: unknown;
}

/**
 * A registered trigger (webhook or message trigger): its definition as the store keeps it, opaque
 * JSON here (its shape and checks belong to `src/triggers`), and who it acts for.
 */
export interface TriggerRecord {
  namespace: string;
  name: string;
  /** The definition with its defaults applied, without name and namespace (JSON). */
  definition: Record<string, unknown>;
  /** The principal every fire acts for: the creator's, replaced by whoever changes it. */
  principal: Principal;
  /** Whether a message source is set: message consumers list only these. */
  message: boolean;
  paused: boolean;
  createdAt: string;
  updatedAt: string;
  /** When it last started a run (or found the run of a duplicate). @default undefined — never */
  lastFiredAt?: string;
  /** The runs of its latest fires, newest first (at most {@link TRIGGER_RECENT_RUNS}). */
  recentRuns: { runId: string; firedAt: string }[];
}

/** How many recent runs a trigger record keeps. */
export const TRIGGER_RECENT_RUNS = 20;

/** A deduplication key to bind: see {@link Store.claimTriggerKey}. */
export interface TriggerKeyClaimRequest {
  namespace: string;
  trigger: string;
  key: string;
  /** The run to bind it to. */
  runId: string;
  /** ISO time: bindings that expired by then are dropped first. */
  now: string;
  /** ISO time the binding expires. */
  expiresAt: string;
}

/** Outcome of {@link Store.claimTriggerKey}. */
export interface TriggerKeyClaim {
  /** The run the key is bound to: the one offered, or the one bound first within the window. */
  runId: string;
  /** True when this call bound the key. */
  fresh: boolean;
}

/**
 * The control plane's store; one implementation over SQLite and PostgreSQL ({@link openStore}).
 * It holds the usage ledger too ({@link UsageLedger}), and the tasks external workers registered ({@link RegisteredTaskStore}).
 */
export interface Store extends UsageLedger, RunProgressStore, RegisteredTaskStore {
  /** `sqlite` or `postgres`. */
  readonly backend: 'sqlite' | 'postgres';

  /**
   * Registers `name@version` in `entry.namespace`; the manifest text and IR are stored
   * content-addressed. The same `name@version` in another namespace is another registration.
   * @throws MaestroError `CONFLICT` when `name@version` is registered in the namespace with another IR digest.
   */
  putWorkflow(entry: WorkflowEntry): Promise<PutOutcome>;
  /**
   * The `name@version` registered in `namespace` (never another namespace's). A registration
   * never changes, so entries are kept in memory once read (the 64 used last): treat the entry
   * as read-only.
   */
  getWorkflow(namespace: string, name: string, version: string): Promise<WorkflowEntry | undefined>;
  /**
   * Registered workflow versions by namespace, name, then registration time.
   * @param namespaces only these namespaces' @default undefined — every namespace's
   */
  listWorkflows(namespaces?: readonly string[]): Promise<WorkflowRecord[]>;

  /**
   * Registers a runbook version in `entry.namespace`.
   * @throws MaestroError `CONFLICT` when `name@version` is registered in the namespace with another document.
   */
  putRunbook(entry: RunbookEntry): Promise<PutOutcome>;
  /**
   * A runbook version registered in `namespace`, or its newest there (by semver) when `version`
   * is omitted: another namespace's versions are never considered.
   */
  getRunbook(namespace: string, name: string, version?: string): Promise<RunbookEntry | undefined>;
  /**
   * Registered runbook versions by namespace, name, then registration time.
   * @param namespaces only these namespaces' @default undefined — every namespace's
   */
  listRunbooks(namespaces?: readonly string[]): Promise<RunbookRecord[]>;

  /**
   * Binds `key` (per namespace) to `runId` unless it is bound already.
   * @returns the run id the key is bound to: `runId`, or the one bound before.
   */
  claimIdempotencyKey(namespace: string, key: string, runId: string): Promise<string>;

  /**
   * Adds a run to its namespace's admission queue: `admitted` at once when fewer than `limit`
   * runs hold a slot and none is queued ahead of it, else `queued`. Adding a run id twice returns
   * its current state.
   */
  enqueueRun(entry: Omit<AdmissionEntry, 'state'>, limit: number): Promise<AdmissionEntry['state']>;
  /** Admits the oldest queued runs of `namespace` into its free slots; returns them. */
  admitQueuedRuns(namespace: string, limit: number): Promise<AdmissionEntry[]>;
  /** Frees a run's slot (or takes it out of the queue). @returns false when it was not there. */
  releaseRun(runId: string): Promise<boolean>;
  getAdmission(runId: string): Promise<AdmissionEntry | undefined>;
  /** Entries of the admission queue, oldest first, optionally of one namespace or state. */
  listAdmissions(filter?: { namespace?: string; state?: AdmissionEntry['state'] }): Promise<AdmissionEntry[]>;
  /** Runs waiting (`queued`) in each namespace's admission queue; namespaces with none are absent. */
  countQueuedRuns(): Promise<Record<string, number>>;

  /**
   * Creates or replaces a trigger. `create` refuses a name taken in the namespace.
   * @returns `created`, `updated`, or `unchanged` when definition, principal and paused are equal.
   * @throws MaestroError `TRIGGER_EXISTS` on `create` of a name taken in the namespace.
   */
  putTrigger(record: Omit<TriggerRecord, 'createdAt' | 'updatedAt' | 'lastFiredAt' | 'recentRuns'>, mode: 'create' | 'replace', now: string): Promise<'created' | 'updated' | 'unchanged'>;
  getTrigger(namespace: string, name: string): Promise<TriggerRecord | undefined>;
  /**
   * Triggers by namespace and name.
   * @param filter.namespaces only these namespaces' @default every namespace's
   * @param filter.message only message triggers (true) or webhooks (false) @default both
   * @param filter.paused only paused (true) or enabled (false) ones @default both
   */
  listTriggers(filter?: { namespaces?: readonly string[]; message?: boolean; paused?: boolean }): Promise<TriggerRecord[]>;
  /** Deletes a trigger and its deduplication keys. @returns false when it was not there. */
  deleteTrigger(namespace: string, name: string): Promise<boolean>;
  /** Pauses or unpauses a trigger. @returns false when it was not there. */
  setTriggerPaused(namespace: string, name: string, paused: boolean, now: string): Promise<boolean>;
  /** Stamps the time a trigger last fired and adds the runs it started (or found) to its recent runs. */
  markTriggerFired(namespace: string, name: string, time: string, runIds: readonly string[]): Promise<void>;
  /**
   * Binds a trigger's deduplication key to `runId` until `expiresAt`, unless it is bound to a run
   * already and has not expired: a unique key in the database decides, so concurrent claims from
   * any number of API replicas or consumers bind it once.
   */
  claimTriggerKey(claim: TriggerKeyClaimRequest): Promise<TriggerKeyClaim>;
  /**
   * Counts `count` events in a trigger's window (e.g. the current minute, `2026-12-06T13:41`) and
   * returns the window's total: one row per trigger and window, incremented in the database, so
   * every API replica and consumer shares the count. Windows before `window` are dropped.
   */
  countTriggerEvents(namespace: string, trigger: string, window: string, count: number): Promise<number>;
  /**
   * {@link Store.countTriggerEvents}, then — unless the window's total is over `limit` —
   * {@link Store.claimTriggerKey} of `claim`, in one transaction: an event's rate check and its
   * key's claim in one write.
   * @returns the window's total, and the claim when it was made
   */
  countTriggerEventsAndClaim(window: string, count: number, limit: number, claim: TriggerKeyClaimRequest): Promise<{ total: number; claim?: TriggerKeyClaim }>;

  /**
   * The operations view of a namespace over a window: SQL aggregates over the usage ledger and
   * the admission queue (see `readOperations`); never another namespace's rows.
   */
  readOperations(query: OperationsQuery): Promise<OperationsReport>;

  /** Checks the database answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
