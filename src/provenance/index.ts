/**
 * Provenance: signed run receipts (in-toto Statement v1 + SLSA Provenance v1 in a DSSE envelope
 * inside a Sigstore bundle), their offline verification, the task cache and code digests, replay,
 * disclosure bundles and release attestations.
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
export { canonicalJson, canonicalSha256, sha256Hex } from './digest.js';
export {
  SECRET_PLACEHOLDER,
  buildReceipt,
  outputSubjectName,
  outputsSha256,
  paramsSha256,
  redactParams,
  runSubjectName,
  taskOutputDigests,
  type BuildReceiptInput,
  type PolicyDecisionIds,
} from './receipt.js';
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
export { FsBlobStore, S3BlobStore, checkBlobKey, type BlobStore, type S3BlobStoreOptions } from './blob-store.js';
export {
  BlobTaskCache,
  cacheKey,
  runCached,
  type BlobTaskCacheOptions,
  type CacheEntry,
  type CacheKeyInput,
  type CacheMode,
  type CachedAttempt,
  type CachedResult,
  type TaskCache,
} from './cache.js';
export { CodeDigester, catalogCodeDigests, taskCodeDigest, type CatalogCodeDigestOptions, type CodeDigesterOptions } from './code-digest.js';
export {
  ReceiptStore,
  createReceiptWriter,
  type ReceiptWriterDeps,
  type StoredReceipt,
  type WriteReceiptInput,
  type WriteReceiptResult,
} from './receipts.js';
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
  compareOutputs,
  receiptOutputDigests,
  replayReport,
  verifiedReceipt,
  type ReceiptTrust,
  type ReplayReport,
  type ReplayVerdict,
  type TaskReplay,
} from './replay.js';
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
export { auditDecisionLog, type AuditDecisionLog } from './decisions.js';
export { APPROVAL_PROOF_MAX_AGE_MS, defaultApprovalKeyFile, loadApprovalKey, signApproval, verifyApproval } from './approval-proof.js';
