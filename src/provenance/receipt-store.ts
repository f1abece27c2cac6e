/**
 * Writing and reading run receipts: the `writeReceipt` activity the interpreter calls at the end
 * of every run, and the reader behind `GET /runs/{runId}/receipt` and `maestro receipt`.
 */
import type { KeyObject } from 'node:crypto';
import type { RunState, RunTrace, SubWorkflowRun, TaskState, WorkflowIR } from '../ir/index.js';
import { MaestroError, NotFoundError } from '../errors/index.js';
import { isRecord } from '../ir/index.js';
import type { BlobStore } from '../store/index.js';
import { sha256Hex } from '../canonical/index.js';
import { buildReceipt, type PolicyDecisionIds } from './receipt-statement.js';
import { statementPayload, type BundleSigner, type SerializedBundle } from './signing.js';
import { IN_TOTO_PAYLOAD_TYPE, type ProvenanceStatement } from './statement.js';
import { verifyReceipt, type VerificationFailureCode } from './verify.js';

/** A stored receipt, exactly as written. */
export interface StoredReceipt {
  runId: string;
  /** The Sigstore bundle JSON, byte for byte as stored (serve these bytes for download). */
  bytes: Uint8Array;
  bundle: SerializedBundle;
  /** `sha256:<hex>` of {@link bytes}. */
  digest: string;
  /** Where it is stored: `file:///…/receipts/<runId>.sigstore.json` or `s3://…`. */
  uri: string;
}

/** Run ids that name a receipt: Temporal workflow ids without path separators. */
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,254}$/;

/** `sha256:<hex>` of a receipt's bytes as stored: what `GET /runs/{runId}/receipt` serves as its ETag. */
function bytesDigest(bytes: Uint8Array): string {
  return `sha256:${sha256Hex(bytes)}`;
}

/** How many receipt digests a {@link ReceiptStore} remembers (see `digestOf`). */
const DIGESTS_KEPT = 10_000;

/** Receipts by run id, in a {@link BlobStore} under `receipts/<runId>.sigstore.json`. */
export class ReceiptStore {
  /** Digests read or written, oldest first: a run's receipt is written once it ended, and stays. */
  private readonly digests = new Map<string, string>();

  constructor(
    private readonly store: BlobStore,
    private readonly prefix = 'receipts',
  ) {}

  /** Stores a bundle as the receipt of `runId`, replacing any earlier one. */
  async write(runId: string, bundle: SerializedBundle): Promise<StoredReceipt> {
    const key = this.key(runId);
    const bytes = Buffer.from(`${JSON.stringify(bundle, null, 2)}\n`, 'utf8');
    await this.store.put(key, bytes);
    const digest = bytesDigest(bytes);
    this.remember(runId, digest);
    return { runId, bytes, bundle, digest, uri: this.store.uriOf(key) };
  }

  /** The receipt of `runId`, or undefined when there is none yet. */
  async find(runId: string): Promise<StoredReceipt | undefined> {
    const key = this.key(runId);
    const bytes = await this.store.get(key);
    if (!bytes) return undefined;
    let bundle: SerializedBundle;
    try {
      bundle = JSON.parse(Buffer.from(bytes).toString('utf8')) as SerializedBundle;
    } catch (error) {
      throw new MaestroError('INTERNAL', `the stored receipt of run "${runId}" is not JSON (${this.store.uriOf(key)})`, { cause: error });
    }
    return { runId, bytes, bundle, digest: bytesDigest(bytes), uri: this.store.uriOf(key) };
  }

  /**
   * `sha256:<hex>` of the receipt of `runId` as stored, or undefined when there is none yet. A
   * digest once known is remembered (the last {@link DIGESTS_KEPT}): a run's detail that lists
   * many children, read again and again (an event stream), reads each child's receipt once.
   */
  async digestOf(runId: string): Promise<string | undefined> {
    const known = this.digests.get(runId);
    if (known !== undefined) return known;
    const bytes = await this.store.get(this.key(runId));
    if (!bytes) return undefined;
    const digest = bytesDigest(bytes);
    this.remember(runId, digest);
    return digest;
  }

  private remember(runId: string, digest: string): void {
    this.digests.delete(runId);
    this.digests.set(runId, digest);
    if (this.digests.size > DIGESTS_KEPT) this.digests.delete(this.digests.keys().next().value as string);
  }

  /**
   * The receipt of `runId`, for `GET /runs/{runId}/receipt`: serve `bytes` as
   * `application/json` (a download), with `digest` as the ETag.
   *
   * @throws NotFoundError (`NOT_FOUND`) when the run has no receipt (unknown, or still running).
   * @throws MaestroError `BAD_REQUEST` for a run id that cannot name a receipt.
   */
  async read(runId: string): Promise<StoredReceipt> {
    const receipt = await this.find(runId);
    if (!receipt) throw new NotFoundError(`run "${runId}" has no receipt (unknown, or not finished)`);
    return receipt;
  }

  private key(runId: string): string {
    if (!RUN_ID.test(runId)) throw new MaestroError('BAD_REQUEST', `"${runId}" is not a run id`);
    return `${this.prefix}/${runId}.sigstore.json`;
  }
}

/** Task statuses after which a sub-workflow task's child has ended (and written its receipt). */
const CHILD_ENDED: ReadonlySet<TaskState['status']> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/**
 * `state` with the receipt digest of each child run it names (`subWorkflow` of a task or a forEach
 * item that ended) and that carries none, read from the store: a run of history format 3 does not
 * record its children's digests (they write their receipts through the worker's sink, whose
 * result no workflow sees). A task still running is not looked up; a child without a stored
 * receipt (one could not be written) keeps none. Returns `state` itself when no child lacks its
 * digest.
 */
export async function withChildReceipts(state: RunState, receipts: Pick<ReceiptStore, 'digestOf'>): Promise<RunState> {
  /** The ended child of this task or item itself, when its digest is missing. */
  const ownChild = (task: TaskState): SubWorkflowRun | undefined =>
    task.subWorkflow?.receiptDigest === undefined && CHILD_ENDED.has(task.status) ? task.subWorkflow : undefined;
  const lacking = (task: TaskState): boolean => ownChild(task) !== undefined || (task.items?.some(lacking) ?? false);
  if (!state.tasks.some(lacking)) return state;
  const fill = async (task: TaskState): Promise<TaskState> => {
    if (!lacking(task)) return task;
    const child = ownChild(task);
    const [items, receiptDigest] = await Promise.all([task.items && Promise.all(task.items.map(fill)), child && receipts.digestOf(child.runId)]);
    return {
      ...task,
      ...(items === undefined ? {} : { items }),
      ...(child === undefined || receiptDigest === undefined ? {} : { subWorkflow: { ...child, receiptDigest } }),
    };
  };
  return { ...state, tasks: await Promise.all(state.tasks.map(fill)) };
}

/** What the receipt writer needs from the worker. */
export interface ReceiptWriterDeps {
  receipts: ReceiptStore;
  signer: BundleSigner;
  /** See {@link BuildReceiptInput.builderId}. */
  builderId: string;
  /** See {@link BuildReceiptInput.workerBuildId}. */
  workerBuildId: string;
  /** Code digest by exact `uses`, computed at worker start (`catalogCodeDigests`). */
  taskCodeDigests: Readonly<Record<string, string>>;
  /**
   * The policy decision ids of a run, from the decision log.
   * @default undefined — none recorded
   */
  policyDecisions?: (runId: string) => Promise<PolicyDecisionIds>;
}

/** Input of the `writeReceipt` activity. */
export interface WriteReceiptInput {
  runId: string;
  ir: WorkflowIR;
  /** The IR digest. */
  digest: string;
  params: Record<string, unknown>;
  /** The run's final state (status and `endedAt` set). */
  state: RunState;
  /** Maestro namespace. @default undefined — not recorded */
  namespace?: string;
  /** The run's trace: the worker emits the run's span and the receipt's. @default undefined — no spans */
  trace?: RunTrace;
}

/** Result of the `writeReceipt` activity. */
export interface WriteReceiptResult {
  /** Where the signed bundle is stored. */
  receiptUri: string;
  /** `sha256:<hex>` of the stored bundle's bytes (what `GET /runs/{runId}/receipt` serves). */
  digest: string;
  /** `sha256:<hex>` of the signed statement's canonical JSON (the DSSE payload). */
  statementDigest: string;
}

/**
 * Builds the `writeReceipt` activity: builds the run's receipt, signs it, stores it. Idempotent:
 * when the stored receipt already carries the same statement (an activity retry), it is kept and
 * returned rather than signed again.
 */
export function createReceiptWriter(deps: ReceiptWriterDeps): (input: WriteReceiptInput) => Promise<WriteReceiptResult> {
  const { receipts, signer, builderId, workerBuildId, taskCodeDigests, policyDecisions } = deps;
  return async function writeReceipt(input: WriteReceiptInput): Promise<WriteReceiptResult> {
    // Read while the statement is built: there is almost never one (only when an attempt of this
    // activity already wrote it), and the read waits on the file system or the network.
    const existingRead = receipts.find(input.runId);
    existingRead.catch(() => undefined);
    const [policyDecisionIds, run] = await Promise.all([policyDecisions?.(input.runId), withChildReceipts(input.state, receipts)]);
    const statement = buildReceipt({
      ir: input.ir,
      digest: input.digest,
      params: input.params,
      run,
      workerBuildId,
      builderId,
      taskCodeDigests,
      ...(policyDecisionIds === undefined ? {} : { policyDecisionIds }),
      ...(input.namespace === undefined ? {} : { namespace: input.namespace }),
    });
    // The payload is the statement's canonical JSON: its sha256 is the statement digest.
    const payload = statementPayload(statement);
    const statementDigest = `sha256:${sha256Hex(payload)}`;
    const existing = await existingRead;
    if (existing && existing.bundle.dsseEnvelope?.payload === payload.toString('base64')) {
      return { receiptUri: existing.uri, digest: existing.digest, statementDigest };
    }
    const stored = await receipts.write(input.runId, await signer.sign(payload, IN_TOTO_PAYLOAD_TYPE));
    return { receiptUri: stored.uri, digest: stored.digest, statementDigest };
  };
}

/** Where a run's receipt is, and the keys it must verify against before it is trusted for a comparison. */
export interface ReceiptTrust {
  receipts: ReceiptStore;
  publicKeys: readonly (string | Buffer | KeyObject)[];
}

/**
 * The statement of a run's receipt, once it verifies: a replay is only worth comparing against a
 * receipt that verifies.
 * @throws NotFoundError when the run has no receipt; MaestroError `BAD_REQUEST` when it does not verify.
 */
export async function verifiedReceipt(runId: string, options: ReceiptTrust): Promise<ProvenanceStatement> {
  const stored = await options.receipts.read(runId);
  const verified = verifyReceipt(stored.bundle, { publicKeys: options.publicKeys });
  if (!verified.ok) throw new MaestroError('BAD_REQUEST', `the receipt of run "${runId}" does not verify (${verified.code}): ${verified.reason}`);
  return verified.statement;
}

/** A run's receipt as the API checked it, offline, against the configured keys (`GET /runs/{runId}/receipt/verification`). */
export interface ReceiptVerification {
  runId: string;
  /** The signature verifies with a trusted key, and the statement is this run's SLSA provenance. */
  verified: boolean;
  /** `sha256:<hex>` of the stored bundle's bytes (the download's ETag). */
  digest: string;
  /** Why not verified: a {@link VerificationFailureCode}, or `OTHER_RUN` for another run's receipt. */
  code?: VerificationFailureCode | 'OTHER_RUN';
  reason?: string;
  /** Id of the trusted key that signed (verified local-key receipts only). */
  keyId?: string;
  /** The statement's subjects (only once verified: an unverified payload claims nothing). */
  subjects: { name: string; sha256: string }[];
  /** The policy decision ids the receipt lists, run-level ones without `taskId` (verified only). */
  policyDecisionIds: { id: string; taskId?: string; reused?: true }[];
}

/**
 * Verifies the stored receipt of `runId` for a person to read: the signature against the trusted
 * keys, the statement's shape, and that it is this run's (a receipt copied over another run's
 * verifies, but names another invocation). Never throws for a bad receipt: the result says why.
 * @throws NotFoundError when the run has no receipt.
 */
export async function checkReceipt(runId: string, options: ReceiptTrust): Promise<ReceiptVerification> {
  const stored = await options.receipts.read(runId);
  const verified = verifyReceipt(stored.bytes, { publicKeys: options.publicKeys });
  const base = { runId, digest: stored.digest, subjects: [], policyDecisionIds: [] };
  if (!verified.ok) return { ...base, verified: false, code: verified.code, reason: verified.reason };
  const { statement } = verified;
  const invocation = statement.predicate.runDetails.metadata?.invocationId;
  if (invocation !== runId) return { ...base, verified: false, code: 'OTHER_RUN', reason: `the receipt is signed for run "${String(invocation)}", not "${runId}"` };
  return {
    ...base,
    verified: true,
    ...(verified.keyId === undefined ? {} : { keyId: verified.keyId }),
    subjects: statement.subject.map((subject) => ({ name: subject.name, sha256: subject.digest['sha256'] ?? '' })),
    policyDecisionIds: receiptDecisionIds(statement),
  };
}

/** The policy decision ids of a receipt's run and task (and item) byproducts, in receipt order. */
export function receiptDecisionIds(receipt: ProvenanceStatement): { id: string; taskId?: string; reused?: true }[] {
  const ids: { id: string; taskId?: string; reused?: true }[] = [];
  const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);
  const visit = (annotations: unknown, taskId: string | undefined): void => {
    if (!isRecord(annotations)) return;
    const id = typeof annotations['id'] === 'string' ? annotations['id'] : taskId;
    for (const decision of strings(annotations['policyDecisionIds'])) ids.push({ id: decision, ...(id === undefined ? {} : { taskId: id }) });
    for (const decision of strings(annotations['reusedPolicyDecisionIds'])) ids.push({ id: decision, ...(id === undefined ? {} : { taskId: id }), reused: true });
    if (Array.isArray(annotations['items'])) for (const item of annotations['items']) visit(item, undefined);
  };
  for (const byproduct of receipt.predicate.runDetails.byproducts ?? []) {
    if (byproduct.name === 'run') visit(byproduct.annotations, undefined);
    else if (byproduct.name?.startsWith('task/')) visit(byproduct.annotations, byproduct.name.slice('task/'.length));
  }
  return ids;
}

/** `outputDigest` of every task and item byproduct of a receipt, by id, in receipt order. */
export function receiptOutputDigests(receipt: ProvenanceStatement): Map<string, string> {
  const digests = new Map<string, string>();
  const visit = (annotations: unknown): void => {
    if (!isRecord(annotations)) return;
    if (typeof annotations['id'] === 'string' && typeof annotations['outputDigest'] === 'string') {
      digests.set(annotations['id'], annotations['outputDigest']);
    }
    if (Array.isArray(annotations['items'])) for (const item of annotations['items']) visit(item);
  };
  for (const byproduct of receipt.predicate.runDetails.byproducts ?? []) {
    if (byproduct.name?.startsWith('task/')) visit(byproduct.annotations);
  }
  return digests;
}
