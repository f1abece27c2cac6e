/**
 * The attestation formats Maestro emits: an in-toto Statement v1 whose predicate is SLSA
 * Provenance v1 (receipts, release attestations), or Maestro's disclosure manifest.
 *
 * Specs: https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md and
 * https://slsa.dev/spec/v1.0/provenance.
 */
import { isRecord } from '../ir/index.js';

/** `_type` of every in-toto Statement v1. */
export const IN_TOTO_STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
/** DSSE `payloadType` of an in-toto statement. */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** `predicateType` of SLSA Provenance v1. */
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
/** `buildType` of a run receipt: the DAG interpreter ran a compiled workflow (the IR). */
export const MAESTRO_RUN_BUILD_TYPE = 'urn:maestro:build-type:dag-interpreter:v1';
/** `buildType` of `npm run attest`: Maestro's own source tree. */
export const MAESTRO_SOURCE_BUILD_TYPE = 'urn:maestro:build-type:source-tree:v1';
/** `predicateType` of a disclosure bundle's manifest: the subjects are the bundle's files. */
export const MAESTRO_DISCLOSURE_PREDICATE = 'urn:maestro:predicate:disclosure:v1';

/** Digests by algorithm, lower-case hex without prefix: `{ sha256: "ab12…" }`. */
export type DigestSet = Record<string, string>;

/** in-toto ResourceDescriptor: at least one of `uri`, `digest`, `content` is set. */
export interface ResourceDescriptor {
  name?: string;
  uri?: string;
  digest?: DigestSet;
  mediaType?: string;
  annotations?: Record<string, unknown>;
}

/** An in-toto Statement v1 with a typed predicate. */
export interface Statement<P = unknown> {
  _type: typeof IN_TOTO_STATEMENT_TYPE;
  subject: (ResourceDescriptor & { name: string; digest: DigestSet })[];
  predicateType: string;
  predicate: P;
}

/** SLSA Provenance v1 predicate. */
export interface SlsaProvenance {
  buildDefinition: {
    buildType: string;
    externalParameters: Record<string, unknown>;
    internalParameters?: Record<string, unknown>;
    resolvedDependencies?: ResourceDescriptor[];
  };
  runDetails: {
    builder: { id: string; version?: Record<string, string>; builderDependencies?: ResourceDescriptor[] };
    metadata?: { invocationId?: string; startedOn?: string; finishedOn?: string };
    byproducts?: ResourceDescriptor[];
  };
}

/** A statement whose predicate is SLSA Provenance v1. */
export type ProvenanceStatement = Statement<SlsaProvenance>;

/**
 * Checks the shape every in-toto Statement v1 must have; returns what is wrong, or `undefined`.
 * The predicate is not checked here.
 */
export function statementProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return 'the payload is not a JSON object';
  if (value['_type'] !== IN_TOTO_STATEMENT_TYPE) return `_type is ${JSON.stringify(value['_type'])}, not ${IN_TOTO_STATEMENT_TYPE}`;
  if (typeof value['predicateType'] !== 'string') return 'predicateType is missing';
  const subjects = value['subject'];
  if (!Array.isArray(subjects) || subjects.length === 0) return 'subject must be a non-empty list';
  for (const [index, subject] of subjects.entries()) {
    if (!isRecord(subject) || typeof subject['name'] !== 'string') return `subject[${index}] has no name`;
    const digest = subject['digest'];
    if (!isRecord(digest) || Object.keys(digest).length === 0) return `subject "${subject['name']}" has no digest`;
    if (typeof digest['sha256'] === 'string' && !/^[0-9a-f]{64}$/.test(digest['sha256'])) {
      return `subject "${subject['name']}" has a malformed sha256`;
    }
  }
  return undefined;
}
