/**
 * Proof that the API authenticated who sent a message to a run: the API signs each approval
 * decision and each signal with the approval key (Ed25519) before it sends the `approve` or
 * `signal` update, and the worker accepts the update only when the signature verifies. A client
 * with raw Temporal access can send the update, but cannot make up a principal, roles or a payload
 * the run would accept.
 *
 * Signed: the canonical JSON of the message's statement plus `issuedAt` and `expiresAt` — for an
 * approval `{runId, gate, approver, roles, decision, comment?}`, for a signal `{purpose: "signal",
 * runId, name, payload, sender}` (the `purpose` keeps one kind of proof from passing for the
 * other). The expiry is what keeps the audit log and the run in agreement: the API waits for the
 * run to take a message until shortly after it expires, and records it as refused if it did not;
 * the run refuses an expired message however late it arrives (see the interpreter's validators).
 */
import { sign, verify, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import type { ProvenanceSettings, StoreSettings } from '../config/index.js';
import { MaestroError } from '../errors/index.js';
import type { ApiProof, ApprovalRequest, SignalRequest } from '../ir/index.js';
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

function signedBytes(statement: Record<string, unknown>, issuedAt: string, expiresAt: string | undefined): Buffer {
  return Buffer.from(canonicalJson({ ...statement, issuedAt, ...(expiresAt === undefined ? {} : { expiresAt }) }));
}

/** What an approval's proof signs. */
function approvalStatement(runId: string, { taskId: gate, approver, roles, decision, comment }: ApprovalRequest): Record<string, unknown> {
  return { runId, gate, approver, roles, decision, ...(comment === undefined ? {} : { comment }) };
}

/** What a signal's proof signs. */
function signalStatement(runId: string, { name, payload, sender }: SignalRequest): Record<string, unknown> {
  return { purpose: 'signal', runId, name, payload, sender };
}

/** Options of {@link signApproval} and {@link signSignal}. */
export interface SignApprovalOptions {
  /** The signing time. @default new Date() */
  now?: Date;
  /** How long the run may take to receive the message; at most {@link APPROVAL_PROOF_MAX_AGE_MS}. @default APPROVAL_PROOF_MAX_AGE_MS */
  validForMs?: number;
}

/** The API's proof over `statement`, expiring `validForMs` after `now`. */
function proofOf(key: SigningKey, statement: Record<string, unknown>, { now = new Date(), validForMs = APPROVAL_PROOF_MAX_AGE_MS }: SignApprovalOptions): ApiProof {
  const issuedAt = now.toISOString();
  const expiresAt = new Date(now.getTime() + Math.min(validForMs, APPROVAL_PROOF_MAX_AGE_MS)).toISOString();
  const signature = sign(digestFor(key.privateKey), signedBytes(statement, issuedAt, expiresAt), key.privateKey).toString('base64url');
  return { issuedAt, expiresAt, signature };
}

/**
 * `request` with the API's proof attached, for run `runId`, expiring `validForMs` after `now`.
 *
 * @example
 * await approveTask(client, runId, signApproval(key, runId, { taskId: 'gate', decision: 'approve', approver, roles }, { validForMs: 5_000 }));
 */
export function signApproval(key: SigningKey, runId: string, request: ApprovalRequest, options: SignApprovalOptions = {}): ApprovalRequest {
  return { ...request, proof: proofOf(key, approvalStatement(runId, request), options) };
}

/**
 * `request` (a signal for run `runId`) with the API's proof attached, expiring `validForMs` after `now`.
 *
 * @example
 * await sendSignal(client, runId, signSignal(key, runId, { name: 'release', payload: { version: '1.2.3' }, sender }, { validForMs: 5_000 }));
 */
export function signSignal(key: SigningKey, runId: string, request: SignalRequest, options: SignApprovalOptions = {}): SignalRequest {
  return { ...request, proof: proofOf(key, signalStatement(runId, request), options) };
}

/** How a refusal names the message and tells the sender what to do. */
interface Refusal {
  /** `approval`, `signal`. */
  kind: string;
  /** Who the API authenticated: `the approver`. */
  who: string;
  /** What the signature covers, for the mismatch message. */
  covers: string;
  /** How to try again, after an expiry. */
  again: string;
}

/**
 * Checks a proof of `statement`: present, signed by `publicKey` over exactly this statement, not
 * expired (by this machine's clock, with no slack: a message near its expiry is refused rather
 * than counted after the API recorded it as refused), and issued at most
 * {@link APPROVAL_PROOF_MAX_AGE_MS} ago.
 */
function verifyProof(publicKey: KeyObject, statement: Record<string, unknown>, proof: ApiProof | undefined, refusal: Refusal, now: Date): void {
  const refuse: (why: string) => never = (why) => {
    throw new MaestroError('FORBIDDEN', `${refusal.kind} refused: ${why}; send it through the Maestro API`);
  };
  if (proof === undefined || typeof proof.issuedAt !== 'string' || typeof proof.signature !== 'string') refuse(`it carries no proof that the API authenticated ${refusal.who}`);
  const issued = Date.parse(proof.issuedAt);
  if (Number.isNaN(issued)) refuse('its proof has no valid issue time');
  const age = now.getTime() - issued;
  // A little slack for clocks a few seconds apart between the API and the worker.
  if (age > APPROVAL_PROOF_MAX_AGE_MS || age < -30_000) refuse(`its proof was issued at ${proof.issuedAt}, outside the ${APPROVAL_PROOF_MAX_AGE_MS / 60_000} minutes it is valid`);
  if (proof.expiresAt !== undefined) {
    const expires = typeof proof.expiresAt === 'string' ? Date.parse(proof.expiresAt) : Number.NaN;
    if (Number.isNaN(expires)) refuse('its proof has no valid expiry');
    if (now.getTime() > expires) refuse(`it expired at ${proof.expiresAt} before the run could take it; ${refusal.again}`);
  }
  const good = verify(digestFor(publicKey), signedBytes(statement, proof.issuedAt, proof.expiresAt), publicKey, Buffer.from(proof.signature, 'base64url'));
  if (!good) refuse(`its proof does not match the ${refusal.covers}`);
}

/**
 * Checks the proof of an approval sent to run `runId` (see {@link verifyProof}).
 *
 * @throws MaestroError `FORBIDDEN` when it does not hold.
 */
export function verifyApproval(publicKey: KeyObject, runId: string, request: ApprovalRequest, now: Date = new Date()): void {
  verifyProof(publicKey, approvalStatement(runId, request), request.proof, { kind: 'approval', who: 'the approver', covers: 'approver, roles, decision or run', again: 'decide again' }, now);
}

/**
 * Checks the proof of a signal sent to run `runId`: the API signed exactly this name, payload and
 * sender for this run, and it has not expired (see {@link verifyProof}).
 *
 * @throws MaestroError `FORBIDDEN` when it does not hold.
 */
export function verifySignal(publicKey: KeyObject, runId: string, request: SignalRequest, now: Date = new Date()): void {
  verifyProof(publicKey, signalStatement(runId, request), request.proof, { kind: 'signal', who: 'its sender', covers: 'name, payload, sender or run', again: 'send it again' }, now);
}
