/**
 * The policy decision log as provenance reads it: the audit log's records for a run become the
 * disclosure bundle's decision log excerpt, and its `decision` records' ids the receipt's policy
 * decision ids.
 */
import type { AuditLog, AuditRecord } from '../store/index.js';
import type { DecisionLog, DecisionRecord } from './disclosure.js';
import type { PolicyDecisionIds } from './receipt-statement.js';

/** Page size when reading a run's records (the audit log's maximum). */
const PAGE = 1000;

/** A {@link DecisionLog} over the audit log, plus the policy decision ids of a run. */
export interface AuditDecisionLog extends DecisionLog {
  /** Ids of the run's `decision` records: run-level ones and per task id, and the ones attempts reused. */
  decisionIds(runId: string): Promise<PolicyDecisionIds>;
}

/**
 * Reads a run's records from the audit log (every kind: decisions, approvals, cancellations,
 * retries — each with its chain hash, so an excerpt can be checked against the log's head).
 */
export function auditDecisionLog(log: Pick<AuditLog, 'list' | 'decisionRefs'>): AuditDecisionLog {
  const records = async (runId: string): Promise<AuditRecord[]> => {
    const all: AuditRecord[] = [];
    for (let after = 0; ; ) {
      const page = await log.list({ runId, after, limit: PAGE });
      all.push(...page);
      const last = page.at(-1);
      if (page.length < PAGE || !last) return all;
      after = last.seq;
    }
  };
  return {
    excerpt: async (runId) => (await records(runId)).map((record): DecisionRecord => ({ ...record })),
    decisionIds: async (runId) => {
      const ids: Required<Omit<PolicyDecisionIds, 'reused'>> & Pick<PolicyDecisionIds, 'reused'> = { run: [], tasks: {} };
      for (const { id, taskId, reused } of await log.decisionRefs(runId)) {
        if (taskId === undefined) ids.run.push(id);
        // An attempt that acted on its run-start decision: that decision is listed already.
        else if (reused) ((ids.reused ??= {})[taskId] ??= []).push(id);
        else (ids.tasks[taskId] ??= []).push(id);
      }
      return ids;
    },
  };
}
