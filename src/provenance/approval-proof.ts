/**
 * Proof that the API authenticated an approver: the API signs each approval decision with the
 * approval key (Ed25519) before it sends the `approve` update, and the worker accepts the update
 * only when the signature verifies. A client with raw Temporal access can send the update, but
 * cannot make up a principal or roles the gate would accept.
 *
 * Signed: the canonical JSON of `{runId, gate, approver, roles, decision, comment?, issuedAt,
 * expiresAt?}`. The expiry is what keeps the audit log and the run in agreement: the API waits for
 * the run to take a decision until shortly after it expires, and records it as refused if it did
 * not; the run refuses an expired decision however late it arrives (see the interpreter's
 * `approve` validator).
 */
import { sign, verify, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import type { ProvenanceSettings, StoreSettings } from '../config/index.js';
import { MaestroError } from '../errors/index.js';
import type { ApprovalRequest } from '../ir/index.js';
import { canonicalJson } from '../canonical/index.js';
import { loadSigningKey, type SigningKey } from './keys.js';

/**
 * How long a proof stays good after the API issued it. It covers the update's trip through
 * Temporal to the worker; a decision can only count once per approver and gate anyway.
 */
export const APPROVAL_PROOF_MAX_AGE_MS = 5 * 60_000;

/** The approval key's path when `approvalKey` is unset: `<dataDir>/keys/approval-signing.key`. */
export function defaultApprovalKeyFile(config: Pick<StoreSettings, 'dataDir'>): string {
  return join(config.dataDir, 'keys', 'approval-signing.key');
}

/**
 * The approval key of `config` (`MAESTRO_APPROVAL_KEY`, a PKCS#8 PEM Ed25519 or ECDSA P-256 key).
 * Unset: the dev key in the data folder, created on first use (mode 0600), which the API and the
 * worker of `npm start` share.
 *
 * @throws ConfigError when a configured key is missing or is not a supported private key.
 */
export function loadApprovalKey(config: Pick<StoreSettings, 'dataDir'> & Pick<ProvenanceSettings, 'approvalKey'>): Promise<SigningKey> {
  return loadSigningKey(config.approvalKey ?? defaultApprovalKeyFile(config), { create: config.approvalKey === undefined, algorithm: 'ed25519' });
}

/** Ed25519 hashes internally (Node wants no digest name); ECDSA P-256 signs a SHA-256 digest. */
function digestFor(key: KeyObject): string | null {
  return key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
}

function signedBytes(runId: string, request: ApprovalRequest, issuedAt: string, expiresAt: string | undefined): Buffer {
  const { taskId: gate, approver, roles, decision, comment } = request;
  return Buffer.from(
    canonicalJson({ runId, gate, approver, roles, decision, ...(comment === undefined ? {} : { comment }), issuedAt, ...(expiresAt === undefined ? {} : { expiresAt }) }),
  );
}

/** Options of {@link signApproval}. */
export interface SignApprovalOptions {
  /** The signing time. @default new Date() */
  now?: Date;
  /** How long the run may take to receive the decision; at most {@link APPROVAL_PROOF_MAX_AGE_MS}. @default APPROVAL_PROOF_MAX_AGE_MS */
  validForMs?: number;
}

/**
 * `request` with the API's proof attached, for run `runId`, expiring `validForMs` after `now`.
 *
 * @example
 * await approveTask(client, runId, signApproval(key, runId, { taskId: 'gate', decision: 'approve', approver, roles }, { validForMs: 5_000 }));
 */
export function signApproval(key: SigningKey, runId: string, request: ApprovalRequest, { now = new Date(), validForMs = APPROVAL_PROOF_MAX_AGE_MS }: SignApprovalOptions = {}): ApprovalRequest {
  const issuedAt = now.toISOString();
  const expiresAt = new Date(now.getTime() + Math.min(validForMs, APPROVAL_PROOF_MAX_AGE_MS)).toISOString();
  const signature = sign(digestFor(key.privateKey), signedBytes(runId, request, issuedAt, expiresAt), key.privateKey).toString('base64url');
  return { ...request, proof: { issuedAt, expiresAt, signature } };
}

/**
 * Checks the proof of an approval sent to run `runId`: present, signed by `publicKey` over exactly
 * this decision, not expired (by this machine's clock, with no slack: a decision near its expiry
 * is refused rather than counted after the API recorded it as refused), and issued at most
 * {@link APPROVAL_PROOF_MAX_AGE_MS} ago.
 *
 * @throws MaestroError `FORBIDDEN` when any of those does not hold.
 */
export function verifyApproval(publicKey: KeyObject, runId: string, request: ApprovalRequest, now: Date = new Date()): void {
  const refuse: (why: string) => never = (why) => {
    throw new MaestroError('FORBIDDEN', `approval refused: ${why}; decide through the Maestro API`);
  };
  const { proof } = request;
  if (proof === undefined || typeof proof.issuedAt !== 'string' || typeof proof.signature !== 'string') refuse('it carries no proof that the API authenticated the approver');
  const issued = Date.parse(proof.issuedAt);
  if (Number.isNaN(issued)) refuse('its proof has no valid issue time');
  const age = now.getTime() - issued;
  // A little slack for clocks a few seconds apart between the API and the worker.
  if (age > APPROVAL_PROOF_MAX_AGE_MS || age < -30_000) refuse(`its proof was issued at ${proof.issuedAt}, outside the ${APPROVAL_PROOF_MAX_AGE_MS / 60_000} minutes it is valid`);
  if (proof.expiresAt !== undefined) {
    const expires = typeof proof.expiresAt === 'string' ? Date.parse(proof.expiresAt) : Number.NaN;
    if (Number.isNaN(expires)) refuse('its proof has no valid expiry');
    if (now.getTime() > expires) refuse(`it expired at ${proof.expiresAt} before the run could take it; decide again`);
  }
  const good = verify(digestFor(publicKey), signedBytes(runId, request, proof.issuedAt, proof.expiresAt), publicKey, Buffer.from(proof.signature, 'base64url'));
  if (!good) refuse('its proof does not match the approver, roles, decision or run');
}
