import { describe, expect, it } from 'vitest';
import { validateTaskInput, validateTaskOutput } from '../sdk/index.js';
import { approvalGate } from './approval-gate.js';

describe('ops/approval.gate', () => {
  it('accepts approver roles with an optional quorum, timeout and message', () => {
    expect(() => validateTaskInput(approvalGate, { approvers: ['sre-oncall'] })).not.toThrow();
    expect(() =>
      validateTaskInput(approvalGate, { approvers: ['sre', 'data-lead'], minApprovals: 2, timeout: '4h', message: 'Backfill?' }),
    ).not.toThrow();
  });

  it.each([
    ['no approvers', {}, 'approvers: is required'],
    ['an empty approver list', { approvers: [] }, 'approvers: must NOT have fewer than 1 items'],
    ['a quorum of zero', { approvers: ['sre'], minApprovals: 0 }, 'minApprovals: must be >= 1'],
    ['a timeout that is not a duration', { approvers: ['sre'], timeout: 'tomorrow' }, 'timeout: must match pattern'],
    ['the seed placeholder `approved: true`', { approved: true, approver: 'sre' }, 'approved: is not an allowed property'],
  ])('refuses %s', (_, input, message) => {
    expect(() => validateTaskInput(approvalGate, input)).toThrow(message);
  });

  it('outputs only approved gates, with who approved and when', () => {
    const approvals = [{ approver: 'alice', comment: 'ok', at: '2025-01-01T10:00:00Z' }];
    expect(() => validateTaskOutput(approvalGate, { approved: true, approvals })).not.toThrow();
    expect(() => validateTaskOutput(approvalGate, { approved: false, approvals })).toThrow(/approved: must be equal to constant/);
    expect(() => validateTaskOutput(approvalGate, { approved: true, approvals: [{ approver: 'a', at: 'noon' }] })).toThrow(
      /approvals\[0\]\.at: must match format "date-time"/,
    );
  });
});
