import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import type { SubWorkflowStartInput, WorkflowIR } from '../ir/index.js';
import { createAuthorizeSubWorkflow } from './sub-workflow.js';

const child: WorkflowIR = {
  irVersion: 1,
  name: 'child',
  version: '1.0.0',
  parameters: [
    { name: 'n', type: 'integer', required: true, secret: false },
    { name: 'env', type: 'string', required: false, secret: false, default: 'dev' },
  ],
  policy: { purpose: 'p', authority: 'a', license: 'l' },
  maxParallel: 32,
  failurePolicy: 'failFast',
  tasks: [],
};

const start = (overrides: Partial<SubWorkflowStartInput> = {}): SubWorkflowStartInput => ({
  runId: 'run-child',
  parent: { runId: 'run-parent', taskId: 'sub', depth: 1 },
  namespace: 'ops',
  workflow: { namespace: 'ops', name: 'child', version: '1.0.0', digest: 'sha256:0' },
  ir: child,
  params: { n: 1 },
  principal: { subject: 'ada', roles: ['operator'], namespaces: ['ops'] },
  ...overrides,
});

/** The failure type (error code) the activity refuses with. */
async function refusal(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await promise.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  return (error as ApplicationFailure).type ?? undefined;
}

describe('authorizeSubWorkflow', () => {
  const authorize = createAuthorizeSubWorkflow({ subWorkflowMaxDepth: 2, subWorkflowMaxParamsBytes: 1000 });

  it('returns the params checked as POST /runs checks them, defaults applied', async () => {
    await expect(authorize(start())).resolves.toEqual({ params: { n: 1, env: 'dev' } });
    expect(await refusal(authorize(start({ params: { n: 'one' } })))).toBe('PARAMS_INVALID');
    expect(await refusal(authorize(start({ params: { n: 1, extra: true } })))).toBe('PARAMS_INVALID');
  });

  it("refuses a workflow resolved in another namespace, and a principal outside the run's namespace", async () => {
    expect(await refusal(authorize(start({ workflow: { namespace: 'dev', name: 'child', version: '1.0.0', digest: 'sha256:0' } })))).toBe('SUBWORKFLOW_FORBIDDEN');
    expect(await refusal(authorize(start({ principal: { subject: 'eve', roles: ['operator'], namespaces: ['dev'] } })))).toBe('SUBWORKFLOW_FORBIDDEN');
    await expect(authorize(start({ principal: { subject: 'root', roles: ['admin'], namespaces: ['*'] } }))).resolves.toBeDefined();
  });

  it('refuses a child deeper than the limit, and params over the size limit before reading them', async () => {
    await expect(authorize(start({ parent: { runId: 'p', taskId: 't', depth: 2 } }))).resolves.toBeDefined();
    expect(await refusal(authorize(start({ parent: { runId: 'p', taskId: 't', depth: 3 } })))).toBe('SUBWORKFLOW_DEPTH_EXCEEDED');
    expect(await refusal(authorize(start({ params: { n: 1, env: 'x'.repeat(2000) } })))).toBe('PAYLOAD_TOO_LARGE');
  });
});
