/**
 * Policy inputs for every check of policies/maestro.rego, allowed and denied, shared by the PDP
 * tests (embedded and remote must agree on each) and the benchmark.
 */
import { buildPolicyInput, type PolicyInput, type PolicyInputSource } from '../../src/policy/index.js';

const BASE: PolicyInputSource = {
  principal: { subject: 'alice', roles: ['operator'], namespaces: ['default'] },
  workflow: { name: 'hello', version: '1.0.0', digest: `sha256:${'ab'.repeat(32)}`, policy: { purpose: 'demo', authority: 'maestro-examples', license: 'internal' } },
  task: { id: 'greet', uses: 'tasks/transform.map@0.1.0', runsOn: 'local' },
  run: { runId: 'run-1', namespace: 'default', traceId: 'trace-1' },
};

/** The base source with parts replaced. */
function source(change: Partial<PolicyInputSource> & { policy?: Partial<PolicyInputSource['workflow']['policy']> } = {}): PolicyInputSource {
  const { policy, ...rest } = change;
  const merged: PolicyInputSource = { ...BASE, ...rest };
  return policy ? { ...merged, workflow: { ...merged.workflow, policy: { ...merged.workflow.policy, ...policy } } } : merged;
}

/** One case: the input, whether it is allowed, and (for denials) a reason the decision must contain. */
export interface PolicyCase {
  name: string;
  input: PolicyInput;
  allow: boolean;
  reason?: string;
}

const runStage = (change: Parameters<typeof source>[0] = {}): PolicyInput => {
  const { task: _task, ...rest } = source(change);
  void _task;
  return buildPolicyInput(rest);
};

/** Allow and deny for each check. */
export const POLICY_CASES: PolicyCase[] = [
  { name: 'run start: every check holds', input: runStage(), allow: true },
  { name: 'task: every check holds', input: buildPolicyInput(source()), allow: true },
  // Check 1: namespace.
  {
    name: 'namespace: wildcard principal may act anywhere configured',
    input: buildPolicyInput(source({ principal: { subject: 'alice', roles: ['operator'], namespaces: ['*'] } })),
    allow: true,
  },
  {
    name: 'namespace: principal outside the run namespace is denied',
    input: buildPolicyInput(source({ principal: { subject: 'alice', roles: ['operator'], namespaces: ['ops'] } })),
    allow: false,
    reason: 'principal "alice" may not act in namespace "default" (its namespaces: "ops")',
  },
  {
    name: 'namespace: unconfigured namespace is denied',
    input: runStage({ run: { runId: 'run-1', namespace: 'nowhere' }, principal: { subject: 'alice', roles: ['operator'], namespaces: ['*'] } }),
    allow: false,
    reason: 'namespace "nowhere" has no entry in the policy\'s data (data.maestro_config.namespaces)',
  },
  // Check 2: purpose.
  { name: 'purpose: on the namespace list', input: runStage({ policy: { purpose: 'analytics' } }), allow: true },
  {
    name: 'purpose: off the namespace list is denied',
    input: runStage({ policy: { purpose: 'marketing' } }),
    allow: false,
    reason: 'purpose "marketing" is not allowed in namespace "default"',
  },
  {
    name: 'purpose: a task override is what is checked',
    input: buildPolicyInput(source({ task: { ...BASE.task!, policy: { purpose: 'marketing' } } })),
    allow: false,
    reason: 'purpose "marketing" is not allowed in namespace "default"',
  },
  // Check 3: authority.
  {
    name: 'authority: a role listed for it',
    input: buildPolicyInput(source({ principal: { subject: 'sam', roles: ['sre'], namespaces: ['default'] }, policy: { authority: 'tasking:ops' } })),
    allow: true,
  },
  {
    name: 'authority: admin acts under any authority',
    input: buildPolicyInput(source({ principal: { subject: 'root', roles: ['admin'], namespaces: ['*'] }, policy: { authority: 'release-management' } })),
    allow: true,
  },
  {
    name: 'authority: no matching role is denied',
    input: buildPolicyInput(source({ policy: { authority: 'release-management' } })),
    allow: false,
    reason: 'principal "alice" holds none of the roles that act under authority "release-management" (needs one of "admin", "release-management", "release-manager"; holds "operator")',
  },
  // Check 4: license and classification.
  {
    name: 'license: permits the task classification',
    input: buildPolicyInput(source({ policy: { license: 'confidential' }, task: { ...BASE.task!, labels: { classification: 'confidential' } } })),
    allow: true,
  },
  {
    name: 'license: does not permit the task classification',
    input: buildPolicyInput(source({ task: { ...BASE.task!, labels: { classification: 'restricted' } } })),
    allow: false,
    reason: 'license "internal" does not permit "restricted" data (it permits "public", "internal")',
  },
  {
    name: 'license: unknown license is denied',
    input: runStage({ policy: { license: 'cc-by-nc' } }),
    allow: false,
    reason: 'license "cc-by-nc" is not known to the policy',
  },
  {
    name: 'license: unknown classification is denied',
    input: buildPolicyInput(source({ task: { ...BASE.task!, labels: { classification: 'secretish' } } })),
    allow: false,
    reason: 'data classification "secretish" is not known to the policy',
  },
  // Check 5: egress.
  { name: 'egress: http.request with the namespace allowance', input: buildPolicyInput(source({ task: { ...BASE.task!, uses: 'tasks/http.request@0.1.0' } })), allow: true },
  {
    name: 'egress: http.request without an allowance is denied',
    input: buildPolicyInput(
      source({
        principal: { subject: 'alice', roles: ['operator'], namespaces: ['sandbox'] },
        run: { runId: 'run-1', namespace: 'sandbox' },
        task: { ...BASE.task!, uses: 'tasks/http.request@0.1.0' },
      }),
    ),
    allow: false,
    reason: 'task "greet" uses tasks/http.request, which sends data outside Maestro\'s trust boundary, and namespace "sandbox" has no egress allowance for it',
  },
  {
    name: 'egress: connectors/* allowance',
    input: buildPolicyInput(
      source({
        principal: { subject: 'sam', roles: ['sre'], namespaces: ['ops'] },
        run: { runId: 'run-1', namespace: 'ops' },
        policy: { purpose: 'incident-response', authority: 'tasking:ops' },
        task: { ...BASE.task!, uses: 'connectors/kafka.produce@1.0.0' },
      }),
    ),
    allow: true,
  },
  {
    name: 'egress: a connector without an allowance is denied',
    input: buildPolicyInput(source({ task: { ...BASE.task!, uses: 'connectors/kafka.produce@1.0.0' } })),
    allow: false,
    reason: 'uses connectors/kafka.produce, which sends data outside Maestro\'s trust boundary',
  },
  {
    name: 'egress: notify.slack needs its allowance too',
    input: buildPolicyInput(
      source({ principal: { subject: 'alice', roles: ['operator'], namespaces: ['sandbox'] }, run: { runId: 'run-1', namespace: 'sandbox' }, task: { ...BASE.task!, uses: 'tasks/notify.slack@0.1.0' } }),
    ),
    allow: false,
    reason: 'uses tasks/notify.slack',
  },
];

/** A typical allowed task input, for benchmarks. */
export const TYPICAL_INPUT: PolicyInput = buildPolicyInput(source({ task: { ...BASE.task!, uses: 'tasks/http.request@0.1.0', labels: { classification: 'internal' } } }));
