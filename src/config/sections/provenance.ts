/** Settings of provenance: the keys that sign receipts and approvals, where receipts and the task cache are kept. */
import { Type } from '@sinclair/typebox';
import { optional, section, type SettingsOf } from '../setting.js';

const text = Type.String({ minLength: 1 });

/** Signing keys, trusted keys, the receipt and task-cache store. */
export const provenanceSection = section('provenance', 'Receipts and approvals: the keys that sign them, the keys trusted to verify them, where receipts and the task cache are kept.', {
  signingKey: optional(text, {
    env: 'MAESTRO_SIGNING_KEY',
    path: true,
    unset: '`<dataDir>/keys/receipt-signing.key`',
    description:
      'PKCS#8 PEM private key (ECDSA P-256 or Ed25519) that signs run receipts, disclosure bundles and release attestations. Set: it must exist. Unset: the dev key, created on first use with mode 0600 (its public key beside it as `.pub`).',
  }),
  approvalKey: optional(text, {
    env: 'MAESTRO_APPROVAL_KEY',
    path: true,
    unset: '`<dataDir>/keys/approval-signing.key`',
    description:
      'PKCS#8 PEM private key (Ed25519 or ECDSA P-256) the API signs approval decisions with and the worker checks them against; the API and every worker need the same file. Set: it must exist. Unset: the dev key, created on first use with mode 0600.',
  }),
  trustedKeysDir: optional(text, {
    env: 'MAESTRO_TRUSTED_KEYS_DIR',
    path: true,
    unset: "only the signing key's public key is trusted",
    description: "Folder of trusted public keys (`*.pub` / `*.pem`, SPKI PEM) that receipts and bundles are verified against, besides the signing key's own.",
  }),
  fulcioUrl: optional(Type.String({ format: 'url' }), {
    env: 'MAESTRO_FULCIO_URL',
    unset: 'local key',
    description: 'Fulcio URL for keyless signing; with MAESTRO_REKOR_URL set too, receipts are signed keylessly (needs the network and an OIDC token) instead of with the local key.',
  }),
  rekorUrl: optional(Type.String({ format: 'url' }), { env: 'MAESTRO_REKOR_URL', unset: 'local key', description: 'Rekor URL for keyless signing; see MAESTRO_FULCIO_URL.' }),
  builderId: optional(text, {
    env: 'MAESTRO_BUILDER_ID',
    unset: '`urn:maestro:builder:<temporalNamespace>/<taskQueue>`',
    description: '`builder.id` recorded in run receipts: a URI naming this Maestro installation.',
  }),
  provenanceStore: optional(Type.Union([Type.Literal('fs'), Type.Literal('s3')]), {
    env: 'MAESTRO_PROVENANCE_STORE',
    unset: 'fs',
    description: 'Where the task cache and the receipts are kept: `fs` under `<dataDir>` (`task-cache/`, `receipts/`), or `s3` in MAESTRO_PROVENANCE_S3_BUCKET.',
  }),
  provenanceS3Bucket: optional(text, {
    env: 'MAESTRO_PROVENANCE_S3_BUCKET',
    description: 'Bucket of the `s3` provenance store; credentials and region come from the AWS default chain (`AWS_ACCESS_KEY_ID`, `AWS_REGION`, …).',
  }),
  provenanceS3Prefix: optional(text, { env: 'MAESTRO_PROVENANCE_S3_PREFIX', unset: "''", description: 'Key prefix in that bucket, e.g. `maestro/`.' }),
  provenanceS3Endpoint: optional(Type.String({ format: 'url' }), {
    env: 'MAESTRO_PROVENANCE_S3_ENDPOINT',
    unset: 'AWS S3',
    description: 'Endpoint of an S3-compatible server; path-style addressing is used.',
  }),
  taskCache: optional(Type.Boolean(), {
    env: 'MAESTRO_TASK_CACHE',
    unset: 'true',
    description: 'Whether tasks whose cache is on (deterministic catalog tasks, or `cache.enabled`) reuse earlier outputs (true | false).',
  }),
});

/** Provenance (see {@link provenanceSection}). */
export type ProvenanceSettings = SettingsOf<typeof provenanceSection>;
