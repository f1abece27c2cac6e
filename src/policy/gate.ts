/**
 * The policy gate: ask the PDP, record the decision in the audit log, and stop on a denial. The
 * one call the API's run start and the `runTask` activity make.
 */
import { MaestroError, PolicyDeniedError } from '../errors/index.js';
import { canonicalJson } from '../canonical/index.js';
import { canonicalMembers, type AuditLog } from '../store/index.js';
import { canonicalInput } from './input.js';
import type { PolicyDecision, PolicyDecisionPoint, PolicyInput } from './types.js';

/** Options of {@link createPolicyGate}. */
export interface PolicyGateOptions {
  pdp: PolicyDecisionPoint;
  /** Where every decision is appended (see `openAuditLog`). */
  log: AuditLog;
  /** @default () => new Date() */
  now?: () => Date;
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
   */
  checkAll(inputs: readonly PolicyInput[]): Promise<PolicyDecision[]>;
  /**
   * Decides, and lets the caller go on while the decision is recorded: resolves as soon as the
   * PDP allows, with the decision and the promise of its record. Throws {@link PolicyDeniedError}
   * on a denial, once it is recorded: `POLICY_DENIED` with the policy's reasons, or
   * `POLICY_UNAVAILABLE` (retryable) when the PDP could not answer and the namespace fails closed.
   * Call it before anything else, and await `recorded` before any side effect.
   */
  admit(input: PolicyInput): Promise<Admission>;
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
}

/** The decision as an audit entry: who asked what, the answer, and the input it was made on. */
function decisionEntry(input: PolicyInput, decision: PolicyDecision, time: Date): Parameters<AuditLog['append']>[0] {
  return {
    kind: 'decision',
    id: decision.decisionId,
    time: time.toISOString(),
    namespace: input.run.namespace,
    runId: input.run.runId,
    ...(input.task ? { taskId: input.task.id } : {}),
    ...(input.run.traceId === undefined ? {} : { traceId: input.run.traceId }),
    actor: input.principal.subject,
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
export function createPolicyGate({ pdp, log, now = () => new Date() }: PolicyGateOptions): PolicyGate {
  /** Appends the decisions in one write; a failure is `UNAVAILABLE`, naming them. */
  async function record(decided: readonly { input: PolicyInput; decision: PolicyDecision }[]): Promise<void> {
    const time = now();
    try {
      await log.appendAll(decided.map(({ input, decision }) => decisionEntry(input, decision, time)));
    } catch (error) {
      const ids = decided.map(({ decision }) => decision.decisionId).join(', ');
      throw new MaestroError('UNAVAILABLE', `policy decision ${ids} could not be recorded in the audit log, so it is not acted on: ${(error as Error).message}`, { cause: error, retryable: true });
    }
  }
  async function checkAll(inputs: readonly PolicyInput[]): Promise<PolicyDecision[]> {
    const decided: { input: PolicyInput; decision: PolicyDecision }[] = [];
    for (const input of inputs) {
      const decision = await pdp.decide(input);
      decided.push({ input, decision });
      if (decision.fallback !== undefined) break;
    }
    await record(decided);
    return decided.map(({ decision }) => decision);
  }
  return {
    async check(input: PolicyInput): Promise<PolicyDecision> {
      const [decision] = await checkAll([input]);
      if (!decision) throw new MaestroError('INTERNAL', 'the policy gate decided nothing');
      return decision;
    },
    checkAll,
    async admit(input: PolicyInput): Promise<Admission> {
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
      return { decision, recorded };
    },
  };
}
