/**
 * What the control plane keeps besides Temporal: the registry (workflow manifests and their IRs,
 * runbooks), idempotency keys of `POST /runs`, and the admission queue of namespaces with a
 * concurrent-run limit. Run state itself lives in Temporal.
 */
import type { WorkflowIR } from '../ir/index.js';
import type { RunbookManifest } from '../manifest/index.js';

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

/** The control plane's store; one implementation over SQLite and PostgreSQL ({@link openStore}). */
export interface Store {
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

  /** Checks the database answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
