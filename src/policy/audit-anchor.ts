/**
 * Anchoring the audit log's chain head. Walking the chain finds a record changed or removed in
 * the middle, but not a tail cut off (or a chain rebuilt from some record on): what is left is a
 * valid chain. A checkpoint — the head's sequence number and hash, signed as an in-toto statement
 * with the provenance signing key and kept outside the database — makes both visible: record
 * `#seq` must still exist and still have that hash.
 */
import type { KeyObject } from 'node:crypto';
import { MaestroError } from '../errors/index.js';
import { IN_TOTO_STATEMENT_TYPE, signStatement, verifyBundle, type BundleSigner, type SerializedBundle, type Statement } from '../provenance/index.js';
import { GENESIS_HASH, type AuditLog } from '../store/index.js';
import { describeChainReport } from './audit.js';

/** `predicateType` of an audit log checkpoint. */
export const AUDIT_CHECKPOINT_PREDICATE = 'urn:maestro:predicate:audit-checkpoint:v1';

/** The chain head a checkpoint vouches for. */
export interface AuditCheckpoint {
  /** Records in the chain when anchored (the head's `seq`; 0 for an empty log). */
  seq: number;
  /** The head record's hash ({@link GENESIS_HASH} for an empty log). */
  head: string;
  /** ISO 8601 time of anchoring. */
  time: string;
}

/** The statement a checkpoint is signed as: its subject is the head, by its hash. */
function checkpointStatement(checkpoint: AuditCheckpoint): Statement<AuditCheckpoint> {
  return {
    _type: IN_TOTO_STATEMENT_TYPE,
    subject: [{ name: `audit-log#${checkpoint.seq}`, digest: { sha256: checkpoint.head.replace(/^sha256:/, '') } }],
    predicateType: AUDIT_CHECKPOINT_PREDICATE,
    predicate: checkpoint,
  };
}

/**
 * Verifies the whole chain, then signs a checkpoint of its head. Keep the returned bundle outside
 * the database (`maestro audit anchor` writes it to a file).
 *
 * @throws MaestroError `CONFLICT` when the chain is broken or the database no longer refuses
 *   changes to it: such a log is not anchored.
 * @example
 * const { checkpoint, bundle } = await anchorAuditLog(log, (await openProvenance(config)).signer);
 */
export async function anchorAuditLog(log: AuditLog, signer: BundleSigner, now: Date = new Date()): Promise<{ checkpoint: AuditCheckpoint; bundle: SerializedBundle }> {
  const report = await log.verify();
  if (!report.ok) {
    throw new MaestroError('CONFLICT', `${describeChainReport(report)}\na broken or unguarded audit log is not anchored`);
  }
  const checkpoint: AuditCheckpoint = { seq: report.records, head: report.head, time: now.toISOString() };
  return { checkpoint, bundle: await signStatement(checkpointStatement(checkpoint), signer) };
}

/** Outcome of {@link checkAuditAnchor}. */
export type AnchorCheck = { ok: true; checkpoint: AuditCheckpoint } | { ok: false; checkpoint?: AuditCheckpoint; problem: string };

/** The checkpoint a verified statement carries, or why it carries none. */
function checkpointOf(statement: Statement): AuditCheckpoint | string {
  if (statement.predicateType !== AUDIT_CHECKPOINT_PREDICATE) return `it is a ${statement.predicateType} statement, not an audit log checkpoint`;
  const { seq, head, time } = (statement.predicate ?? {}) as Partial<AuditCheckpoint>;
  if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 0 || typeof head !== 'string' || typeof time !== 'string') return 'its predicate is not {seq, head, time}';
  if (statement.subject[0]?.digest.sha256 !== head.replace(/^sha256:/, '')) return 'its subject is not the head it names';
  return { seq, head, time };
}

/**
 * Checks a signed checkpoint against the log: a trusted signature, then record `#seq` present with
 * the anchored hash. Never throws for a bad checkpoint or a cut log; the result says what is wrong.
 *
 * @param bundle the checkpoint bundle's JSON (text or parsed).
 * @param publicKeys the keys trusted to sign checkpoints (the provenance signing key's).
 */
export async function checkAuditAnchor(log: AuditLog, bundle: unknown, publicKeys: readonly KeyObject[]): Promise<AnchorCheck> {
  const verification = verifyBundle(bundle, { publicKeys });
  if (!verification.ok) return { ok: false, problem: `the checkpoint does not verify (${verification.code}): ${verification.reason}` };
  const checkpoint = checkpointOf(verification.statement);
  if (typeof checkpoint === 'string') return { ok: false, problem: `the signed statement is not a usable checkpoint: ${checkpoint}` };
  const { seq, head, time } = checkpoint;
  if (seq === 0) return head === GENESIS_HASH ? { ok: true, checkpoint } : { ok: false, checkpoint, problem: 'a checkpoint of an empty log must name the genesis hash' };
  const [record] = await log.list({ after: seq - 1, limit: 1 });
  if (record === undefined) return { ok: false, checkpoint, problem: `record #${seq}, anchored on ${time}, is gone: the log was cut short after it was anchored` };
  if (record.seq !== seq) return { ok: false, checkpoint, problem: `record #${seq}, anchored on ${time}, was removed` };
  if (record.hash !== head) {
    return { ok: false, checkpoint, problem: `record #${seq} has hash ${record.hash}, not the ${head} anchored on ${time}: the chain was rewritten up to it` };
  }
  return { ok: true, checkpoint };
}

/** One line for people: `anchor holds: …` or `anchor BROKEN: …`. */
export function describeAnchorCheck(check: AnchorCheck): string {
  if (check.ok) return `anchor holds: record #${check.checkpoint.seq} still has the hash anchored on ${check.checkpoint.time}`;
  return `anchor BROKEN: ${check.problem}`;
}
