/**
 * Provenance: signed run receipts (in-toto Statement v1 + SLSA Provenance v1 in a DSSE envelope
 * inside a Sigstore bundle), their offline verification, task code digests, disclosure bundles
 * and release attestations. The task cache is in `src/cache`, replay reports in `src/runs`.
 */
export {
  IN_TOTO_PAYLOAD_TYPE,
  IN_TOTO_STATEMENT_TYPE,
  MAESTRO_DISCLOSURE_PREDICATE,
  MAESTRO_RUN_BUILD_TYPE,
  MAESTRO_SOURCE_BUILD_TYPE,
  SLSA_PROVENANCE_V1,
  statementProblem,
  type DigestSet,
  type ProvenanceStatement,
  type ResourceDescriptor,
  type SlsaProvenance,
  type Statement,
} from './statement.js';
export {
  SECRET_PLACEHOLDER,
  buildReceipt,
  outputSubjectName,
  paramsSha256,
  runSubjectName,
  taskOutputDigests,
  type BuildReceiptInput,
  type PolicyDecisionIds,
} from './receipt-statement.js';
export {
  generateSigningKey,
  keyIdOf,
  loadSigningKey,
  parsePublicKey,
  publicKeyFileOf,
  readPublicKeys,
  signingKeyFromPem,
  type KeyAlgorithm,
  type LoadSigningKeyOptions,
  type SigningKey,
} from './keys.js';
export {
  keylessBundleSigner,
  localBundleSigner,
  signStatement,
  statementPayload,
  type BundleSigner,
  type KeylessSignerOptions,
  type SerializedBundle,
} from './signing.js';
export {
  verifyBundle,
  verifyReceipt,
  type Verification,
  type VerificationFailureCode,
  type VerifyOptions,
  type VerifyReceiptOptions,
} from './verify.js';
export { CodeDigester, catalogCodeDigests, taskCodeDigest, type CatalogCodeDigestOptions, type CodeDigesterOptions } from './code-digest.js';
export {
  ReceiptStore,
  checkReceipt,
  createReceiptWriter,
  receiptDecisionIds,
  receiptOutputDigests,
  verifiedReceipt,
  withChildReceipts,
  type ReceiptTrust,
  type ReceiptVerification,
  type ReceiptWriterDeps,
  type StoredReceipt,
  type WriteReceiptInput,
  type WriteReceiptResult,
} from './receipt-store.js';
export {
  createWorkerProvenance,
  defaultSigningKeyFile,
  openProvenance,
  receiptStoreFromConfig,
  trustedKeysFromConfig,
  workerBuildId,
  type Provenance,
  type ProvenanceConfig,
  type WorkerProvenance,
  type WorkerProvenanceOptions,
} from './setup.js';
export {
  MANIFEST_ENTRY,
  emptyDecisionLog,
  packDisclosure,
  verifyDisclosure,
  type DecisionLog,
  type DecisionRecord,
  type DisclosureFailureCode,
  type DisclosurePredicate,
  type DisclosureVerification,
  type PackDisclosureOptions,
  type PackDisclosureResult,
  type VerifyDisclosureOptions,
} from './disclosure.js';
export { buildSourceAttestation, readSubjectFiles, type SourceAttestationOptions } from './attest.js';
export {
  COSIGN_SIGNATURE_TYPE,
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  signSimplePayload,
  signedDigestOf,
  simpleSigningPayload,
  verifiesSimplePayload,
} from './simple-signing.js';
export { auditDecisionLog, type AuditDecisionLog } from './decisions.js';
export { APPROVAL_PROOF_MAX_AGE_MS, defaultApprovalKeyFile, loadApprovalKey, signApproval, signSignal, verifyApproval, verifySignal, type SignApprovalOptions } from './approval-proof.js';
