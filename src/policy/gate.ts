/**
 * The policy gate: ask the PDP, record the decision in the audit log, and stop on a denial. The
 * one call the API's run start and the `runTask` activity make.
 */
import { MaestroError, PolicyDeniedError } from '../errors/index.js';
import { canonicalJson } from '../canonical/index.js';
import { DECISION_REUSE_KIND, auditRecordId, canonicalMembers, type AuditEntry, type AuditLog, type AuditRecord } from '../store/index.js';
import { canonicalInput } from './input.js';
import type { PolicyDecision, PolicyDecisionPoint, PolicyInput } from './types.js';

/** Options of {@link createPolicyGate}. */
export interface PolicyGateOptions {
  pdp: PolicyDecisionPoint;
  /** Where every decision is appended (see `openAuditLog`). */
  log: AuditLog;
  /** @default () => new Date() */
  now?: () => Date;
  /**
   * How old a run-start decision may be for a task attempt to act on it instead of asking the PDP
   * again (see {@link PolicyGate.admit}); 0: every attempt is decided again.
   * @default 600000 (10 minutes)
   */
  reuseMaxAgeMs?: number;
}

/** The run-start decision a task attempt offers to act on (see {@link PolicyGate.admit}). */
export interface StartDecisionOffer {
  /** The id of the decision made for the task at run start (`TaskPolicyContext.startDecisionId`). */
  decisionId: string;
  /** The attempt, recorded with the reuse. */
  attempt: number;
}

/** Decides and records. */
export interface PolicyGate {
  /**
   * Decides, appends the decision to the log, and returns it — allow or deny — without throwing
   * for a denial (for `dryRun` plans). Throws only when the decision cannot be recorded.
   */
  check(input: PolicyInput): Promise<PolicyDecision>;
  /**
   * {@link PolicyGate.check} for several inputs, in order, recorded in one write: the decisions
   * come back in the inputs' order, up to and including the first the PDP could not answer (a
   * `fallback` one) — asking again for the rest would only wait out the same outage.
   *
   * @param preceding records of what led to the question (a trigger's fire), appended in the same
   *   write, before the decisions: one write instead of two. @default none
   */
  checkAll(inputs: readonly PolicyInput[], preceding?: readonly AuditEntry[]): Promise<PolicyDecision[]>;
  /**
   * Decides, and lets the caller go on while the decision is recorded: resolves as soon as the
   * PDP allows, with the decision and the promise of its record. Throws {@link PolicyDeniedError}
   * on a denial, once it is recorded: `POLICY_DENIED` with the policy's reasons, or
   * `POLICY_UNAVAILABLE` (retryable) when the PDP could not answer and the namespace fails closed.
   * Call it before anything else, and await `recorded` before any side effect.
   *
   * With `offer` (a task's first attempt), the decision made for the task at run start is acted on
   * instead of asking the PDP, when the audit log holds it as an allowing decision for this run and
   * task, made on this very input (same `inputDigest`: the canonical JSON of everything the policy
   * reads), under the PDP's current bundle revision, no longer than `reuseMaxAgeMs` ago, and not by
   * a fallback. The attempt's use of it is recorded (`decision-reuse`, `recorded`); anything else
   * decides again, and {@link Admission.decidedAgain} says why.
   */
  admit(input: PolicyInput, offer?: StartDecisionOffer): Promise<Admission>;
}

/** An allowed decision, and its record under way. */
export interface Admission {
  decision: PolicyDecision;
  /**
   * Settles when the decision is in the audit log; rejects with `UNAVAILABLE` (retryable) when it
   * could not be recorded. A decision not recorded is not acted on: await this before the side
   * effect. What the caller does before (reading and checking the task's input) overlaps the
   * write where it waits on a network (PostgreSQL); SQLite writes at once, in this thread.
   */
  recorded: PromiseLike<void>;
  /** True when `decision` is the run-start decision, acted on again (see {@link PolicyGate.admit}). */
  reused?: true;
  /** Why an offered run-start decision was not acted on: the PDP decided again. */
  decidedAgain?: string;
}

/** When, where and for whom: the members every record the gate writes shares. */
function askedAt(input: PolicyInput, time: Date): Pick<AuditEntry, 'time' | 'namespace' | 'runId' | 'taskId' | 'traceId' | 'actor'> {
  return {
    time: time.toISOString(),
    namespace: input.run.namespace,
    runId: input.run.runId,
    ...(input.task ? { taskId: input.task.id } : {}),
    ...(input.run.traceId === undefined ? {} : { traceId: input.run.traceId }),
    actor: input.principal.subject,
  };
}

/** The decision as an audit entry: who asked what, the answer, and the input it was made on. */
function decisionEntry(input: PolicyInput, decision: PolicyDecision, time: Date): AuditEntry {
  return {
    kind: 'decision',
    id: decision.decisionId,
    ...askedAt(input, time),
    result: decision.allow ? 'allow' : 'deny',
    reasons: decision.reasons,
    inputDigest: decision.inputDigest,
    bundleRevision: decision.bundleRevision,
    // { stage, input, obligations?, fallback? }, with the input's canonical JSON as the PDP made it.
    detailsJson: canonicalMembers({
      stage: JSON.stringify(input.stage),
      input: canonicalInput(input).json,
      ...(decision.obligations ? { obligations: canonicalJson(decision.obligations) } : {}),
      ...(decision.fallback ? { fallback: JSON.stringify(decision.fallback) } : {}),
    }),
  };
}

/**
 * The decision `record` stands for when a task attempt on `input` may act on it, else why not.
 * Only the audit log's own record is trusted: an id carried in the workflow input that names no
 * record, another run's or task's, a denial, or a decision on another input is not acted on.
 */
function reusable(record: AuditRecord | undefined, input: PolicyInput, revision: string, maxAgeMs: number, now: Date): PolicyDecision | string {
  if (record === undefined || record.kind !== 'decision') return 'the run-start decision is not in the audit log';
  if (record.runId !== input.run.runId || record.taskId !== input.task?.id) return `decision ${record.id} was made for another run or task`;
  if (record.result !== 'allow') return `decision ${record.id} is not an allow`;
  const details = record.details ?? {};
  if (details['fallback'] !== undefined) return `decision ${record.id} was made by the fallback, not the policy`;
  if (record.bundleRevision !== revision) return `decision ${record.id} was made under policy bundle ${record.bundleRevision ?? '(none)'}, not the current ${revision}`;
  const digest = canonicalInput(input).digest;
  if (record.inputDigest !== digest) return `decision ${record.id} was made on another policy input (${record.inputDigest ?? '(none)'}, not ${digest})`;
  const ageMs = now.getTime() - Date.parse(record.time);
  if (!(ageMs <= maxAgeMs)) return `decision ${record.id} is ${ageMs} ms old, more than the ${maxAgeMs} ms it may be acted on for`;
  // The obligations the decision attached bind the attempt that acts on it, as they bound it then.
  const obligations = details['obligations'];
  const requireSignedImage = obligations !== null && typeof obligations === 'object' && (obligations as { requireSignedImage?: unknown }).requireSignedImage === true;
  return { allow: true, reasons: [], decisionId: record.id, bundleRevision: revision, inputDigest: digest, ...(requireSignedImage ? { obligations: { requireSignedImage } } : {}) };
}

/** The audit entry of an attempt acting on its run-start decision: which decision, which attempt. */
function reuseEntry(input: PolicyInput, decision: PolicyDecision, attempt: number, time: Date): AuditEntry {
  return {
    kind: DECISION_REUSE_KIND,
    id: auditRecordId(time.getTime()),
    ...askedAt(input, time),
    result: 'allow',
    reasons: [],
    inputDigest: decision.inputDigest,
    bundleRevision: decision.bundleRevision,
    detailsJson: canonicalMembers({ attempt: String(attempt), decisionId: JSON.stringify(decision.decisionId) }),
  };
}

/**
 * A gate over a PDP and an audit log. A decision that cannot be recorded is not acted on: `check`
 * and `checkAll` fail with `UNAVAILABLE` (retryable), and so does the `recorded` of `admit`, which
 * its caller awaits before anything runs.
 *
 * @example
 * const gate = createPolicyGate({ pdp: await createPdp(config), log: await openAuditLog(config) });
 * const { decision, recorded } = await gate.admit(taskPolicyInput(input)); // throws PolicyDeniedError on deny
 * // … read and check the task's input …
 * await recorded; // before the task's code runs
 */
export function createPolicyGate({ pdp, log, now = () => new Date(), reuseMaxAgeMs = 600_000 }: PolicyGateOptions): PolicyGate {
  /** Appends `preceding`, then the decisions, in one write; a failure is `UNAVAILABLE`, naming the decisions. */
  async function record(decided: readonly { input: PolicyInput; decision: PolicyDecision }[], preceding: readonly AuditEntry[] = []): Promise<void> {
    const time = now();
    try {
      await log.appendAll([...preceding, ...decided.map(({ input, decision }) => decisionEntry(input, decision, time))]);
    } catch (error) {
      const ids = decided.map(({ decision }) => decision.decisionId).join(', ');
      throw new MaestroError('UNAVAILABLE', `policy decision ${ids} could not be recorded in the audit log, so it is not acted on: ${(error as Error).message}`, { cause: error, retryable: true });
    }
  }
  async function checkAll(inputs: readonly PolicyInput[], preceding?: readonly AuditEntry[]): Promise<PolicyDecision[]> {
    const decided: { input: PolicyInput; decision: PolicyDecision }[] = [];
    for (const input of inputs) {
      const decision = await pdp.decide(input);
      decided.push({ input, decision });
      if (decision.fallback !== undefined) break;
    }
    await record(decided, preceding);
    return decided.map(({ decision }) => decision);
  }
  return {
    async check(input: PolicyInput): Promise<PolicyDecision> {
      const [decision] = await checkAll([input]);
      if (!decision) throw new MaestroError('INTERNAL', 'the policy gate decided nothing');
      return decision;
    },
    checkAll,
    async admit(input: PolicyInput, offer?: StartDecisionOffer): Promise<Admission> {
      let decidedAgain: string | undefined;
      // A PDP whose revision is not known without asking (an OPA server) decides every attempt.
      const revision = pdp.revision;
      if (offer !== undefined && reuseMaxAgeMs > 0 && revision !== undefined) {
        const time = now();
        // A log that cannot be read now cannot vouch for the decision: the PDP decides, and its
        // record then meets the same log (UNAVAILABLE, retryable, when it refuses that too).
        const found = await log.find(offer.decisionId).then(
          (record) => ({ record }),
          (error: unknown) => ({ problem: `the run-start decision could not be read from the audit log: ${(error as Error).message}` }),
        );
        const reused = 'problem' in found ? found.problem : reusable(found.record, input, revision, reuseMaxAgeMs, time);
        if (typeof reused !== 'string') {
          const recorded = log.append(reuseEntry(input, reused, offer.attempt, time)).then(
            () => undefined,
            (error: unknown) => {
              throw new MaestroError('UNAVAILABLE', `the reuse of policy decision ${reused.decisionId} could not be recorded in the audit log, so it is not acted on: ${(error as Error).message}`, { cause: error, retryable: true });
            },
          );
          recorded.catch(() => undefined);
          return { decision: reused, recorded, reused: true };
        }
        decidedAgain = reused;
      }
      const decision = await pdp.decide(input);
      const recorded = record([{ input, decision }]);
      if (!decision.allow) {
        await recorded;
        throw new PolicyDeniedError(decision.reasons, decision.decisionId, {
          code: decision.fallback === 'closed' ? 'POLICY_UNAVAILABLE' : 'POLICY_DENIED',
          bundleRevision: decision.bundleRevision,
        });
      }
      // Handled here as well as by the caller's await: should the caller fail before it awaits
      // (an invalid input), the attempt has done nothing, and a record that then fails is no loss.
      recorded.catch(() => undefined);
      return { decision, recorded, ...(decidedAgain === undefined ? {} : { decidedAgain }) };
    },
  };
}
