import { describe, expect, it } from 'vitest';
import { visibilityQuery } from './list.js';

describe('visibilityQuery', () => {
  it('always restricts to Maestro runs and skips continued-as-new executions', () => {
    expect(visibilityQuery({})).toBe("WorkflowType = 'dagInterpreter' AND ExecutionStatus != 'ContinuedAsNew'");
  });

  it('turns every filter into a search-attribute clause', () => {
    expect(
      visibilityQuery({ namespaces: ['a', 'b'], status: 'FAILED', workflowRef: 'etl@1.2.0', since: '2025-01-01T00:00:00Z', until: '2025-01-02T00:00:00+01:00' }),
    ).toBe(
      "WorkflowType = 'dagInterpreter' AND ExecutionStatus != 'ContinuedAsNew' AND MaestroNamespace IN ('a', 'b') AND ExecutionStatus IN ('Failed', 'Terminated', 'TimedOut') " +
        "AND MaestroWorkflow = 'etl' AND MaestroVersion = '1.2.0' AND StartTime >= '2025-01-01T00:00:00.000Z' AND StartTime < '2025-01-01T23:00:00.000Z'",
    );
  });

  it("reads an ended run's status from Temporal's, a live run's from the interpreter's", () => {
    const clause = (status: Parameters<typeof visibilityQuery>[0]['status']) => visibilityQuery({ status }).split(" != 'ContinuedAsNew' AND ")[1];
    expect(clause('SUCCEEDED')).toBe("ExecutionStatus = 'Completed'");
    expect(clause('CANCELLED')).toBe("ExecutionStatus = 'Canceled'");
    expect(clause('WAITING')).toBe("ExecutionStatus = 'Running' AND MaestroStatus = 'WAITING'");
  });

  it('a workflowRef without a version matches every version; quotes in values are escaped', () => {
    expect(visibilityQuery({ workflowRef: 'etl' })).toMatch(/MaestroWorkflow = 'etl'$/);
    expect(visibilityQuery({ namespaces: ["o'brien"] })).toContain("MaestroNamespace IN ('o\\'brien')");
  });
});
