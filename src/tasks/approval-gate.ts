import { defineTask } from '../sdk/index.js';
import { durationSchema } from './schemas.js';

/**
 * `ops/approval.gate`: a human gate. The interpreter waits for the run's `approve` update from
 * principals holding one of `approvers`' roles; the task succeeds once `minApprovals` distinct
 * approvers have approved, and fails on a rejection or when `timeout` passes. The run's starter
 * may not approve it unless `allowSelfApproval` is true.
 *
 * @example
 * - id: gate
 *   uses: ops/approval.gate@0.1.0
 *   with: { approvers: [release-manager], timeout: 4h, message: Promote to production? }
 */
export const approvalGate = defineTask({
  name: 'ops/approval.gate',
  version: '0.1.0',
  description: 'Waits until enough people holding an approver role approve; fails on a rejection or a timeout.',
  execution: 'approval',
  input: {
    type: 'object',
    properties: {
      approvers: {
        type: 'array',
        description: 'Roles allowed to decide; an approver must hold at least one.',
        items: { type: 'string', minLength: 1 },
        minItems: 1,
        uniqueItems: true,
      },
      minApprovals: {
        type: 'integer',
        minimum: 1,
        default: 1,
        description: 'Approvals from distinct approvers needed to pass.',
      },
      allowSelfApproval: {
        type: 'boolean',
        default: false,
        description: 'Whether the person who started the run may approve it; by default someone else must.',
      },
      timeout: durationSchema('How long to wait for the decision before the gate fails; no limit when absent.'),
      message: { type: 'string', description: 'What the approvers are asked, shown wherever they decide.' },
    },
    required: ['approvers'],
    additionalProperties: false,
  },
  output: {
    type: 'object',
    properties: {
      approved: { const: true, description: 'Always true: a gate that is not approved fails instead.' },
      approvals: {
        type: 'array',
        description: 'The approvals that passed the gate, in the order they arrived.',
        items: {
          type: 'object',
          properties: {
            approver: { type: 'string', description: 'The authenticated principal who approved.' },
            comment: { type: 'string', description: 'What the approver wrote, if anything.' },
            at: { type: 'string', format: 'date-time', description: 'When the approval arrived.' },
          },
          required: ['approver', 'at'],
          additionalProperties: false,
        },
      },
    },
    required: ['approved', 'approvals'],
    additionalProperties: false,
  },
});
