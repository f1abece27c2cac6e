import { describe, expect, it } from 'vitest';
import type { TaskNode, TaskState, WorkflowIR } from '../../ir/index.js';
import { decidableGates } from './approvals.js';

const gate = (id: string, input: Record<string, unknown>) => ({ id, uses: 'ops/approval.gate@0.1.0', execution: 'approval', needs: [], with: input }) as unknown as TaskNode;
const ir = (...tasks: TaskNode[]) => ({ tasks }) as unknown as WorkflowIR;
const waiting = (id: string, approvals: TaskState['approvals'] = []): TaskState => ({ id, status: 'WAITING', attempts: 0, startedAt: '2026-01-01T00:00:00Z', approvals });
const SRE = { subject: 'sam', roles: ['sre'] };

describe('decidableGates', () => {
  it('keeps a waiting gate listing one of the roles, with its literal message and count', () => {
    expect(decidableGates(ir(gate('g', { approvers: ['sre'], minApprovals: 2, message: 'Go?' })), [waiting('g')], 'ann', SRE)).toEqual([
      { taskId: 'g', waitingSince: '2026-01-01T00:00:00Z', message: 'Go?', approvers: ['sre'], minApprovals: 2, approvals: [] },
    ]);
  });

  it('drops other roles’ gates, the starter’s own run, decided gates and gates not waiting', () => {
    expect(decidableGates(ir(gate('g', { approvers: ['dba'] })), [waiting('g')], 'ann', SRE)).toEqual([]);
    expect(decidableGates(ir(gate('g', { approvers: ['sre'] })), [waiting('g')], 'sam', SRE)).toEqual([]);
    expect(decidableGates(ir(gate('g', { approvers: ['sre'], allowSelfApproval: true })), [waiting('g')], 'sam', SRE)).toHaveLength(1);
    expect(decidableGates(ir(gate('g', { approvers: ['sre'] })), [waiting('g', [{ approver: 'sam', decision: 'approve', at: '2026-01-01T00:01:00Z' }])], 'ann', SRE)).toEqual([]);
    expect(decidableGates(ir(gate('g', { approvers: ['sre'] })), [{ id: 'g', status: 'PENDING', attempts: 0 }], 'ann', SRE)).toEqual([]);
  });

  it('lists a gate whose approvers an expression computes without them: only the run can tell', () => {
    const [item] = decidableGates(ir(gate('g', { approvers: '${params.approvers}', message: 'Deploy ${params.service}?' })), [waiting('g')], 'ann', SRE);
    expect(item).toEqual({ taskId: 'g', waitingSince: '2026-01-01T00:00:00Z', minApprovals: 1, approvals: [] });
  });
});
