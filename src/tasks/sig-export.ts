import canonicalize from 'canonicalize';
import { parseDuration } from '../ir/index.js';
import { defineTask, TaskError, type TaskContext } from '../sdk/index.js';
import { HttpClient } from './http/send.js';
import type { HttpTaskOptions } from './http-request.js';
import { invalidInput } from './shared/failures.js';
import type { SigReceiptLink } from './sig-claims.js';
import { sigConnection, sigConnectionProperties, sigPost, type SigConnectionInput } from './sig/client.js';
import { receiptHash } from './sig/receipts.js';

/** A disclosure bundle to export, as `tasks/disclosure.package` describes it. */
export interface SigBundleInput {
  /** Hex sha256 of the bundle's bytes (`tasks/disclosure.package`'s `sha256`). */
  sha256: string;
  size: number;
  /** Where SIG fetches the bundle. @default none */
  uri?: string;
}

/** Input of `connectors/sig.export`: exactly one of `outputs` and `bundle`. */
export interface SigExportInput extends SigConnectionInput {
  /** The JSON to export, e.g. a run's outputs. */
  outputs?: unknown;
  /** A disclosure bundle to export, by digest. */
  bundle?: SigBundleInput;
  /** The signed run receipt the export is linked to. */
  receipt: SigReceiptLink;
}

/** Output of `connectors/sig.export`: SIG's `ExportRecord`. */
export interface SigExportOutput {
  /** The idempotency key: the same for every attempt of this task in this run. */
  exportId: string;
  /** `unchanged` when SIG had recorded this export before (a retried attempt, a replayed task). */
  status: 'created' | 'unchanged';
  receiptDigest: string;
}

/** Largest `outputs` exported, as canonical JSON bytes (SIG answers 413 above its own limit). */
const MAX_OUTPUTS_BYTES = 1_048_576;
const DIGEST_PATTERN = '^sha256:[0-9a-f]{64}$';

/**
 * The export id of one task of one run: the same for every attempt, so SIG records one export per
 * run and task, whatever is retried. Namespaced, so two namespaces' runs never share one.
 */
export function sigExportId(ctx: Pick<TaskContext, 'namespace' | 'runId' | 'taskId'>): string {
  return `maestro:${receiptHash([ctx.namespace, ctx.runId, ctx.taskId]).slice('sha256:'.length, 'sha256:'.length + 40)}`;
}

/**
 * `connectors/sig.export`: exports a run's outputs, or a disclosure bundle by digest, to SIG
 * (`POST /export` of `contracts/sig.openapi.yaml` 1.2.0), linked to the signed run receipt that
 * backs it (its run id, digest and where to fetch it). Idempotent per run: the export id is derived
 * from the namespace, run id and task id, so a retried attempt, or the same task run again after a
 * lost answer, records nothing twice (SIG answers `unchanged`); the same id with different content
 * fails for good (409). A busy SIG is waited out; SIG before 1.2.0 has no `/export` (404, for good).
 *
 * @example
 * - id: export
 *   uses: connectors/sig.export@0.1.0
 *   needs: [package]
 *   with:
 *     receipt: { runId: "${params.sourceRun}", digest: "${params.receiptDigest}", uri: "https://maestro.example/runs/${params.sourceRun}/receipt" }
 *     bundle: { sha256: "${tasks.package.outputs.sha256}", size: "${tasks.package.outputs.size}" }
 *     tokenSecret: SIG_TOKEN
 */
export function createSigExportTask({ http = new HttpClient() }: HttpTaskOptions = {}) {
  return defineTask<SigExportInput, SigExportOutput>({
    name: 'connectors/sig.export',
    version: '0.1.0',
    description: "Exports a run's outputs or a disclosure bundle to SIG (POST /export), linked to a signed run receipt, once per run.",
    execution: 'activity',
    input: {
      type: 'object',
      properties: {
        outputs: { description: 'The JSON to export (at most 1 MiB as canonical JSON).' },
        bundle: {
          type: 'object',
          description: 'A disclosure bundle (tasks/disclosure.package outputs), by digest.',
          properties: {
            sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
            size: { type: 'integer', minimum: 0 },
            uri: { type: 'string', minLength: 1, maxLength: 2048, description: 'Where SIG fetches the bundle.' },
          },
          required: ['sha256', 'size'],
          additionalProperties: false,
        },
        receipt: {
          type: 'object',
          description: 'The signed run receipt the export is linked to.',
          properties: {
            runId: { type: 'string', minLength: 1, maxLength: 256 },
            digest: { type: 'string', pattern: DIGEST_PATTERN, description: 'sha256 of the receipt bundle (GET /runs/{runId}/receipt).' },
            uri: { type: 'string', minLength: 1, maxLength: 2048, description: 'Where the receipt can be fetched.' },
          },
          required: ['runId', 'digest'],
          additionalProperties: false,
        },
        ...sigConnectionProperties('SIG_URL'),
      },
      required: ['receipt'],
      additionalProperties: false,
    },
    output: {
      type: 'object',
      properties: {
        exportId: { type: 'string' },
        status: { enum: ['created', 'unchanged'] },
        receiptDigest: { type: 'string', pattern: DIGEST_PATTERN },
      },
      required: ['exportId', 'status', 'receiptDigest'],
      additionalProperties: false,
    },
    validate({ outputs, bundle, timeout }) {
      if ((outputs === undefined) === (bundle === undefined)) throw invalidInput('outputs', 'give exactly one of outputs and bundle');
      if (outputs !== undefined && Buffer.byteLength(canonicalize(outputs) ?? 'null') > MAX_OUTPUTS_BYTES) throw invalidInput('outputs', `is larger than ${MAX_OUTPUTS_BYTES} bytes as canonical JSON`);
      if (timeout !== undefined && parseDuration(timeout) === undefined) throw invalidInput('timeout', `"${timeout}" is not a duration`);
    },
    async execute(input, ctx) {
      const { outputs, bundle, receipt } = input;
      const { base, token } = await sigConnection(input, 'SIG_URL', ctx);
      const exportId = sigExportId(ctx);
      const request = {
        exportId,
        namespace: ctx.namespace,
        runId: ctx.runId,
        taskId: ctx.taskId,
        ...(bundle === undefined
          ? { kind: 'outputs', outputs }
          : { kind: 'disclosure', bundle: { digest: `sha256:${bundle.sha256}`, size: bundle.size, ...(bundle.uri === undefined ? {} : { uri: bundle.uri }) } }),
        receipt,
      };
      const body = await sigPost(
        {
          http,
          base,
          path: 'export',
          body: request,
          success: [201, 200],
          timeoutMs: parseDuration(input.timeout ?? '30s') ?? 30_000,
          maxBusyRetries: input.maxBusyRetries ?? 5,
          what: `export ${exportId} of ${request.kind}`,
          ...(token ? { token } : {}),
        },
        ctx,
      );
      const record = checkExportRecord(body, exportId, receipt.digest);
      ctx.logger.info('exported to SIG', { exportId, kind: request.kind, status: record.status });
      return record;
    },
  });
}

/** `connectors/sig.export` with the default egress policy (public addresses only). */
export const sigExport = createSigExportTask();

/** SIG's `ExportRecord`, checked against what was sent. */
function checkExportRecord(body: unknown, exportId: string, receiptDigest: string): SigExportOutput {
  const { exportId: id, status, receiptDigest: digest } = (body ?? {}) as Record<string, unknown>;
  if (id !== exportId || (status !== 'created' && status !== 'unchanged') || digest !== receiptDigest) {
    throw new TaskError(`SIG answered POST /export with an unexpected body: expected the record of ${exportId} linked to ${receiptDigest}`, { code: 'TASK_FAILED', retryable: false });
  }
  return { exportId, status, receiptDigest };
}
