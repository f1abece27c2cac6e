import { basename } from 'node:path';
import { loadConfig } from '../config/index.js';
import { isMaestroError, type ErrorCode } from '../errors/index.js';
import { openProvenance, packDisclosure, type PackDisclosureOptions, type ProvenanceConfig } from '../provenance/index.js';
import { defineTask, TaskError } from '../sdk/index.js';
import { FsArtifactStore } from '../store/index.js';
import { untilAborted } from './shared/abort.js';
import { realRoots } from './shared/file-roots.js';

/** What the task packs and signs with: the worker's receipts, artifacts, signer, trusted keys and decision log. */
export type DisclosureProvenance = Pick<PackDisclosureOptions, 'receipts' | 'artifacts' | 'signer' | 'publicKeys' | 'decisionLog'>;

/** Options of {@link createDisclosurePackageTask}. */
export interface FileTaskOptions {
  /**
   * Folders the task may read from and write to (config `fileRoots`, `MAESTRO_FILE_ROOTS`).
   * @default [] — every path is refused
   */
  fileRoots?: readonly string[];
  /**
   * The worker's provenance, asked once, on the first bundle (`runWorker` passes
   * {@link disclosureProvenance} of its settings).
   * @default opened from the MAESTRO_* settings (`loadConfig()`): their signing key, receipts,
   * trusted keys and artifact folder, as the worker's own; no decision log excerpts
   */
  provenance?: () => Promise<DisclosureProvenance>;
}

/** Input of `ops/disclosure.package`. */
export interface DisclosurePackageInput {
  /** Runs to disclose: each one's receipt (which must verify), approvals, decisions and artifacts. @default [] */
  runIds?: string[];
  /** Extra files to package; relative paths are relative to the first allowed root. @default [] */
  files?: string[];
  /** Where the zip goes (inside an allowed root); replaced if it exists. */
  outPath: string;
  /** @default 104857600 (100 MiB) */
  maxBytes?: number;
}

/** One packaged file, as the signed manifest lists it. */
export interface DisclosureEntry {
  /** Name in the zip: `files/<path relative to its root>`, `runs/<runId>/…` or `artifacts/sha256/<hex>`. */
  path: string;
  sha256: string;
  size: number;
}

/** Output of `ops/disclosure.package`. */
export interface DisclosurePackageOutput {
  bundle: string;
  /** Hex SHA-256 of the zip. */
  sha256: string;
  size: number;
  /** Every file but the signed manifest itself, sorted by path. */
  manifest: DisclosureEntry[];
}

const DEFAULT_MAX_BYTES = 100 * 1024 * 1024;
/** Run ids as receipts and the disclosure packer know them. */
const RUN_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:-]{0,254}$';

/** How the packer's refusals surface: the caller's input is wrong, except a path outside the roots, which policy refuses. */
const PACK_FAILURES: Partial<Record<ErrorCode, ErrorCode>> = {
  POLICY_DENIED: 'POLICY_DENIED',
  BAD_REQUEST: 'TASK_INPUT_INVALID',
  NOT_FOUND: 'TASK_INPUT_INVALID',
  PAYLOAD_TOO_LARGE: 'TASK_INPUT_INVALID',
};

/**
 * `ops/disclosure.package`: writes a disclosure bundle with `packDisclosure` (the one packer, the
 * same as `maestro disclosure pack`): for each run in `runIds` its receipt (which must verify),
 * approvals, decision log excerpt and the artifacts the receipt names, plus extra `files`, and a
 * manifest of every file's SHA-256 signed by the worker's key; `maestro disclosure verify` checks
 * it. Only files whose real path lies inside an allowed root are read, and the zip is only written
 * inside one (`POLICY_DENIED` otherwise; symlinks are refused); the total size is bounded by
 * `maxBytes`. The zip is written atomically (temp file, then rename), so a retry replaces it.
 *
 * @example
 * - id: package
 *   uses: ops/disclosure.package@0.2.0
 *   with: { runIds: ["${params.sourceRun}"], files: [cases/123/report.pdf], outPath: bundles/case-123.zip }
 */
export function createDisclosurePackageTask({ fileRoots = [], provenance = provenanceFromSettings }: FileTaskOptions = {}) {
  let opened: Promise<DisclosureProvenance> | undefined;
  return defineTask<DisclosurePackageInput, DisclosurePackageOutput>({
    name: 'ops/disclosure.package',
    version: '0.2.0',
    description: 'Writes a signed disclosure bundle: runs (receipts, approvals, decisions, artifacts) and files from allowed folders, size-bounded.',
    execution: 'activity',
    input: {
      type: 'object',
      properties: {
        runIds: { type: 'array', maxItems: 1000, uniqueItems: true, items: { type: 'string', pattern: RUN_ID_PATTERN }, description: 'Runs to disclose.' },
        files: { type: 'array', maxItems: 1000, uniqueItems: true, items: { type: 'string', minLength: 1 }, description: 'Extra files to package.' },
        outPath: { type: 'string', pattern: '\\.zip$', description: 'Where the zip goes, inside an allowed folder.' },
        maxBytes: { type: 'integer', minimum: 1, maximum: 2 ** 31 - 1, default: DEFAULT_MAX_BYTES, description: 'Most bytes of content packaged, in total.' },
      },
      required: ['outPath'],
      anyOf: [
        { required: ['runIds'], properties: { runIds: { type: 'array', minItems: 1 } } },
        { required: ['files'], properties: { files: { type: 'array', minItems: 1 } } },
      ],
      additionalProperties: false,
    },
    output: {
      type: 'object',
      properties: {
        bundle: { type: 'string', description: 'Absolute path of the zip.' },
        sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
        size: { type: 'integer', minimum: 0 },
        manifest: {
          type: 'array',
          items: {
            type: 'object',
            properties: { path: { type: 'string' }, sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' }, size: { type: 'integer', minimum: 0 } },
            required: ['path', 'sha256', 'size'],
            additionalProperties: false,
          },
        },
      },
      required: ['bundle', 'sha256', 'size', 'manifest'],
      additionalProperties: false,
    },
    async execute({ runIds = [], files = [], outPath, maxBytes = DEFAULT_MAX_BYTES }, ctx) {
      const roots = await realRoots(fileRoots);
      if (roots.length === 0) {
        throw new TaskError('ops/disclosure.package has no folder it may use: set MAESTRO_FILE_ROOTS', { code: 'CONFIG_INVALID', retryable: false });
      }
      // Opened once per worker; a failure (a missing key) is not kept, so a later attempt tries again.
      opened ??= provenance().catch((error: unknown) => {
        opened = undefined;
        throw error;
      });
      const deps = await opened;
      // The packer takes no signal: a cancellation is reported at once; a bundle being written still lands (atomically).
      const result = await untilAborted(ctx, () => packDisclosure({ ...deps, runIds, files, outPath, roots, maxBytes }), () => undefined).catch((error: unknown) => {
        throw ctx.signal.aborted ? error : packFailure(error);
      });
      const sha256 = result.digest.slice('sha256:'.length);
      ctx.logger.info('disclosure bundle written', { bundle: basename(result.path), runs: runIds.length, files: result.files, size: result.size });
      ctx.emit({ type: 'artifact', path: result.path, sha256 });
      const manifest = [...result.entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      return { bundle: result.path, sha256, size: result.size, manifest };
    },
  });
}

/**
 * What a disclosure bundle is packed and signed with, opened from provenance settings: their signing
 * key, receipts, trusted keys and artifact folder, as the worker's own. A worker passes its own
 * settings (`runWorker` does), so a bundle is signed with the key its receipts are, whatever the
 * process's environment says.
 */
export async function disclosureProvenance(config: ProvenanceConfig & { readonly artifactDir: string }): Promise<DisclosureProvenance> {
  const { receipts, signer, trustedKeys } = await openProvenance(config);
  return { receipts, signer, publicKeys: trustedKeys, artifacts: new FsArtifactStore({ root: config.artifactDir }) };
}

/** The default {@link FileTaskOptions.provenance}, for a catalog built without settings: the MAESTRO_* ones. */
function provenanceFromSettings(): Promise<DisclosureProvenance> {
  return disclosureProvenance(loadConfig());
}

/** A packer refusal as a task failure, never retried: the same input would be refused again. */
function packFailure(error: unknown): unknown {
  if (!isMaestroError(error)) return error;
  const code = PACK_FAILURES[error.code];
  return code === undefined ? error : new TaskError(error.message, { code, retryable: false, cause: error });
}

/** `ops/disclosure.package` with no allowed folder: configure `fileRoots` to use it. */
export const disclosurePackage = createDisclosurePackageTask();
