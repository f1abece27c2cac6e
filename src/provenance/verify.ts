/**
 * Verification of Sigstore bundles with `@sigstore/verify`, offline. `@sigstore/verify` takes its
 * trust as a `TrustMaterial`; for local-key bundles Maestro builds one whose only content is the
 * configured public keys (no CA, no transparency log, no timestamp authority, thresholds zero), so
 * no trusted root and no network is ever needed. Keyless bundles verify against a Sigstore trusted
 * root given by the caller (`trustedRoot`), still offline.
 */
import type { KeyObject } from 'node:crypto';
import { ValidationError, bundleFromJSON, isBundleWithDsseEnvelope, type Bundle } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { PolicyError, VerificationError, Verifier, toSignedEntity, toTrustMaterial, type TrustMaterial } from '@sigstore/verify';
import { isRecord, type RunState } from '../ir/index.js';
import { canonicalSha256, outputsSha256, sha256Hex } from '../canonical/index.js';
import { keyIdOf, parsePublicKey } from './keys.js';
import { outputSubjectName, runSubjectName } from './receipt-statement.js';
import {
  IN_TOTO_PAYLOAD_TYPE,
  SLSA_PROVENANCE_V1,
  statementProblem,
  type ProvenanceStatement,
  type Statement,
} from './statement.js';

/** Why verification failed. */
export type VerificationFailureCode =
  /** Not JSON, not a Sigstore bundle, or not a DSSE bundle. */
  | 'MALFORMED'
  /** Signed by a key (or identity) that is not trusted. */
  | 'UNTRUSTED_KEY'
  /** The signature does not verify: payload or signature changed after signing. */
  | 'BAD_SIGNATURE'
  /** Correctly signed, but the payload is not the statement expected. */
  | 'BAD_PAYLOAD'
  /** A given artifact or state does not hash to its subject's digest. */
  | 'SUBJECT_MISMATCH'
  /** A given artifact has no subject of that name in the statement. */
  | 'SUBJECT_MISSING';

/** Outcome of a verification. */
export type Verification<S extends Statement = Statement> =
  | { ok: true; statement: S; /** Key id of the local key that signed, when not keyless. */ keyId?: string }
  | { ok: false; code: VerificationFailureCode; reason: string };

/** Options of {@link verifyBundle}. */
export interface VerifyOptions {
  /** Trusted public keys: PEM (SPKI, or a private key whose public half is meant) or KeyObjects. */
  publicKeys: readonly (string | Buffer | KeyObject)[];
  /**
   * JSON of a Sigstore `trusted_root.json`, to verify keyless (Fulcio/Rekor) bundles offline.
   * @default undefined — keyless bundles are refused as UNTRUSTED_KEY
   */
  trustedRoot?: unknown;
}

/**
 * Verifies a Sigstore bundle holding a DSSE-signed in-toto statement: structure, trusted key,
 * signature (DSSE PAE), then the statement's shape. Never throws for a bad bundle; the result says
 * what is wrong.
 *
 * @param bundle the bundle's JSON text, bytes, or parsed JSON.
 * @throws ConfigError only when a configured public key itself is invalid.
 */
export function verifyBundle(bundle: unknown, options: VerifyOptions): Verification {
  const parsed = parseBundle(bundle);
  if (!parsed.ok) return parsed;
  const { value } = parsed;
  if (!isBundleWithDsseEnvelope(value)) return fail('MALFORMED', 'the bundle holds a message signature, not a DSSE envelope');
  const keys = new Map(options.publicKeys.map((key, index) => parsePublicKey(key, `trusted key #${index + 1}`)).map((key) => [keyIdOf(key), key]));
  const material = value.verificationMaterial.content;
  let keyId: string | undefined;
  let trust: TrustMaterial;
  if (material.$case === 'publicKey') {
    keyId = material.publicKey.hint;
    if (!keys.has(keyId)) {
      return fail(
        'UNTRUSTED_KEY',
        `signed by key ${short(keyId)}, which is not a trusted key (trusted: ${[...keys.keys()].map(short).join(', ') || 'none'})`,
      );
    }
    trust = localTrust(keys);
  } else {
    if (options.trustedRoot === undefined) {
      return fail('UNTRUSTED_KEY', 'signed keylessly (Fulcio certificate); verifying it needs a Sigstore trusted root');
    }
    trust = toTrustMaterial(TrustedRoot.fromJSON(options.trustedRoot));
  }
  try {
    const verifier = new Verifier(trust, material.$case === 'publicKey' ? { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 } : {});
    verifier.verify(toSignedEntity(value));
  } catch (error) {
    if (error instanceof VerificationError && error.code === 'SIGNATURE_ERROR') {
      return fail(
        'BAD_SIGNATURE',
        `the signature does not verify with key ${short(keyId ?? 'from the certificate')}: the signed payload or the signature was changed after signing`,
      );
    }
    if (error instanceof VerificationError || error instanceof PolicyError) return fail('UNTRUSTED_KEY', `${error.code}: ${error.message}`);
    throw error;
  }
  const envelope = value.content.dsseEnvelope;
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    return fail('BAD_PAYLOAD', `payloadType is "${envelope.payloadType}", not ${IN_TOTO_PAYLOAD_TYPE}`);
  }
  let statement: unknown;
  try {
    statement = JSON.parse(envelope.payload.toString('utf8'));
  } catch {
    return fail('BAD_PAYLOAD', 'the signed payload is not JSON');
  }
  const problem = statementProblem(statement);
  if (problem) return fail('BAD_PAYLOAD', `the signed payload is not an in-toto statement: ${problem}`);
  return { ok: true, statement: statement as Statement, ...(keyId === undefined ? {} : { keyId }) };
}

/** Options of {@link verifyReceipt}. */
export interface VerifyReceiptOptions extends VerifyOptions {
  /**
   * Bytes to check against the subjects of the same name (`artifact://sha256/<h>` for a stored
   * artifact, a relative path for a release attestation). Every one must be a subject.
   * @default undefined — no artifact checked
   */
  artifacts?: Readonly<Record<string, Uint8Array | string>>;
  /**
   * The run's final state (e.g. from `GET /runs/{runId}`): its digest and every task's outputs are
   * checked against the `run/<id>` and `task/<id>/outputs` subjects.
   * @default undefined — not checked
   */
  run?: RunState;
}

/**
 * Verifies a receipt (or release attestation): {@link verifyBundle}, a SLSA Provenance v1
 * predicate, and, when given, artifacts and the run state against the subjects' digests.
 */
export function verifyReceipt(bundle: unknown, options: VerifyReceiptOptions): Verification<ProvenanceStatement> {
  const verified = verifyBundle(bundle, options);
  if (!verified.ok) return verified;
  const { statement } = verified;
  if (statement.predicateType !== SLSA_PROVENANCE_V1) {
    return fail('BAD_PAYLOAD', `predicateType is "${statement.predicateType}", not ${SLSA_PROVENANCE_V1}`);
  }
  const predicate = statement.predicate;
  if (!isRecord(predicate) || !isRecord(predicate['buildDefinition']) || !isRecord(predicate['runDetails'])) {
    return fail('BAD_PAYLOAD', 'the predicate lacks buildDefinition or runDetails');
  }
  const subjects = new Map(statement.subject.map((subject) => [subject.name, subject.digest['sha256']]));
  const expect = (name: string, actual: string, what: string): Verification<ProvenanceStatement> | undefined => {
    const expected = subjects.get(name);
    if (expected === undefined) return fail('SUBJECT_MISSING', `${what}: the receipt has no subject "${name}"`);
    if (expected !== actual) return fail('SUBJECT_MISMATCH', `${what} hashes to sha256:${actual}, but the receipt says sha256:${expected}`);
    return undefined;
  };
  for (const [name, data] of Object.entries(options.artifacts ?? {})) {
    const failure = expect(name, sha256Hex(data), `subject "${name}"`);
    if (failure) return failure;
  }
  if (options.run) {
    const { run } = options;
    for (const task of run.tasks) {
      if (task.status !== 'SUCCEEDED' || task.outputs === undefined) continue;
      const failure = expect(outputSubjectName(task.id), outputsSha256(task.outputs), `outputs of task "${task.id}"`);
      if (failure) return failure;
    }
    const failure = expect(runSubjectName(run.runId), canonicalSha256(run), `state of run "${run.runId}"`);
    if (failure) return failure;
  }
  return { ...verified, statement: statement as ProvenanceStatement };
}

/** Trust in exactly the given keys, valid at any time; no CA, log or timestamp authority. */
function localTrust(keys: Map<string, KeyObject>): TrustMaterial {
  return {
    certificateAuthorities: [],
    timestampAuthorities: [],
    tlogs: [],
    ctlogs: [],
    publicKey: (hint) => {
      const key = keys.get(hint);
      if (!key) throw new VerificationError({ code: 'PUBLIC_KEY_ERROR', message: `key not found: ${hint}` });
      return { publicKey: key, validFor: () => true };
    },
  };
}

function parseBundle(bundle: unknown): { ok: true; value: Bundle } | { ok: false; code: 'MALFORMED'; reason: string } {
  let json: unknown = bundle;
  if (typeof bundle === 'string' || Buffer.isBuffer(bundle) || bundle instanceof Uint8Array) {
    try {
      json = JSON.parse(typeof bundle === 'string' ? bundle : Buffer.from(bundle).toString('utf8'));
    } catch {
      return { ok: false, code: 'MALFORMED', reason: 'the file is not JSON' };
    }
  }
  try {
    return { ok: true, value: bundleFromJSON(json) };
  } catch (error) {
    // The protobuf decoder throws plain errors on values of the wrong type; both mean "not a bundle".
    const detail = error instanceof ValidationError ? `${error.message} (${error.fields.join(', ')})` : String(error);
    return { ok: false, code: 'MALFORMED', reason: `not a Sigstore bundle: ${detail}` };
  }
}

function fail(code: VerificationFailureCode, reason: string): { ok: false; code: VerificationFailureCode; reason: string } {
  return { ok: false, code, reason };
}

function short(keyId: string): string {
  return keyId.length > 16 ? `${keyId.slice(0, 16)}…` : keyId;
}
