/**
 * Building the policy input: pure functions, no I/O, safe anywhere.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../compiler/index.js';
import { MaestroError } from '../errors/index.js';
import type { PolicyContext, RunTaskInput, RunsOn } from '../ir/index.js';
import type { PolicyInput, PolicyPrincipal } from './types.js';

/** What {@link buildPolicyInput} assembles the input from. */
export interface PolicyInputSource {
  /** Who is asking. `name` is accepted for the API's `Principal`. */
  principal: { subject?: string; name?: string; roles: readonly string[]; namespaces: readonly string[] };
  /** The workflow: from its IR (`ir.name`, `ir.version`, `ir.policy`) and digest. */
  workflow: { name: string; version: string; digest: string; policy: PolicyContext };
  /**
   * The task about to execute (an IR `TaskNode` fits; pass the item id `task[2]` for forEach
   * items); omit for a run-start decision.
   */
  task?: { id: string; uses: string; runsOn: RunsOn; labels?: Readonly<Record<string, string>>; policy?: Partial<PolicyContext> };
  run: { runId: string; namespace: string; traceId?: string };
}

/**
 * The policy input for a run start (no `task`) or a task: the workflow's policy context with the
 * task's overrides applied, the task's labels, and copies of everything (the result shares no
 * object with the source).
 *
 * @example
 * const input = buildPolicyInput({
 *   principal, workflow: { ...ir, digest }, task: ir.tasks[0], run: { runId, namespace: 'default' },
 * });
 */
export function buildPolicyInput(source: PolicyInputSource): PolicyInput {
  const { principal, workflow, task, run } = source;
  const subject = principal.subject ?? principal.name;
  if (subject === undefined) throw new MaestroError('INTERNAL', 'a policy principal needs a subject (or name)');
  const policy: PolicyContext = {
    purpose: task?.policy?.purpose ?? workflow.policy.purpose,
    authority: task?.policy?.authority ?? workflow.policy.authority,
    license: task?.policy?.license ?? workflow.policy.license,
  };
  return {
    stage: task ? 'task' : 'run',
    principal: { subject, roles: [...principal.roles], namespaces: [...principal.namespaces] },
    workflow: { name: workflow.name, version: workflow.version, digest: workflow.digest },
    ...(task ? { task: { id: task.id, uses: task.uses, runsOn: task.runsOn, labels: { ...task.labels } } } : {}),
    policy,
    run: { runId: run.runId, namespace: run.namespace, ...(run.traceId === undefined ? {} : { traceId: run.traceId }) },
  };
}

/** The principal assumed when a run carries none: nobody, with no role — every check fails. */
const NOBODY: PolicyPrincipal = { subject: '(no principal: the run was started without one)', roles: [], namespaces: [] };

/**
 * The task-stage policy input of one `runTask` attempt. A run started without a principal (or by
 * an older interpreter) gets {@link NOBODY}, which the default policy denies: no principal, no work.
 *
 * @example
 * // in runTask, before anything else:
 * await policy.enforce(taskPolicyInput(input));
 */
export function taskPolicyInput(input: RunTaskInput): PolicyInput {
  const context = input.policy;
  return buildPolicyInput({
    principal: context?.principal ?? NOBODY,
    workflow: { ...(context?.workflow ?? { name: '(unknown)', version: '(unknown)', digest: '(unknown)' }), policy: context?.context ?? { purpose: '', authority: '', license: '' } },
    task: {
      id: input.taskId,
      uses: input.uses,
      runsOn: input.runsOn,
      ...(context?.labels === undefined ? {} : { labels: context.labels }),
      ...(context?.overrides === undefined ? {} : { policy: context.overrides }),
    },
    run: { runId: input.runId, namespace: input.namespace, ...(context?.traceId === undefined ? {} : { traceId: context.traceId }) },
  });
}

/** `sha256:` of the RFC 8785 canonical JSON of a policy input. */
export function inputDigest(input: PolicyInput): string {
  return canonicalInput(input).digest;
}

/** Canonical forms computed so far, by input object: the PDP and the audit record need the same. */
const canonicalForms = new WeakMap<PolicyInput, { json: string; digest: string }>();

/**
 * The RFC 8785 canonical JSON of a policy input and its `sha256:` digest: computed once per input
 * object (the PDP evaluates and hashes it, the gate's audit record keeps it). Policy inputs are
 * built by {@link buildPolicyInput} and never changed afterwards.
 */
export function canonicalInput(input: PolicyInput): { json: string; digest: string } {
  const known = canonicalForms.get(input);
  if (known !== undefined) return known;
  const json = canonicalJson(input);
  const form = { json, digest: `sha256:${createHash('sha256').update(json).digest('hex')}` };
  canonicalForms.set(input, form);
  return form;
}
