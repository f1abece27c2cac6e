/**
 * Building the policy input: pure functions, no I/O, safe anywhere.
 */
import { hash } from 'node:crypto';
import { canonicalJson } from '../canonical/index.js';
import type { PolicyContext, Principal, RunTaskInput, RunsOn } from '../ir/index.js';
import type { PolicyInput } from './types.js';

/** What {@link buildPolicyInput} assembles the input from. */
export interface PolicyInputSource {
  /** Who is asking. */
  principal: Principal;
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
 * object with the source, and is frozen: its canonical form is computed once and kept).
 *
 * @example
 * const input = buildPolicyInput({
 *   principal, workflow: { ...ir, digest }, task: ir.tasks[0], run: { runId, namespace: 'default' },
 * });
 */
export function buildPolicyInput(source: PolicyInputSource): PolicyInput {
  const { principal, workflow, task, run } = source;
  // Every object is built with its members in RFC 8785 order (labels sorted), so that when every
  // leaf is a string JSON.stringify writes the canonical JSON (see canonicalInput).
  const given = task?.labels ?? {};
  const labels: Record<string, string> = {};
  for (const name of Object.keys(given).sort()) labels[name] = given[name] as string;
  const input: PolicyInput = {
    policy: {
      authority: task?.policy?.authority ?? workflow.policy.authority,
      license: task?.policy?.license ?? workflow.policy.license,
      purpose: task?.policy?.purpose ?? workflow.policy.purpose,
    },
    principal: { namespaces: [...principal.namespaces], roles: [...principal.roles], subject: principal.subject },
    run: { namespace: run.namespace, runId: run.runId, ...(run.traceId === undefined ? {} : { traceId: run.traceId }) },
    stage: task ? 'task' : 'run',
    ...(task ? { task: { id: task.id, labels, runsOn: task.runsOn, uses: task.uses } } : {}),
    workflow: { digest: workflow.digest, name: workflow.name, version: workflow.version },
  };
  if (stringLeavesInOrder(input)) inCanonicalOrder.add(input);
  return deepFreeze(input);
}

/**
 * Whether JSON.stringify writes `input`'s canonical JSON: every leaf a well-formed string (numbers,
 * nested objects or non-string array items would need canonicalisation, and a lone surrogate must
 * be refused, not escaped) and no label name V8 enumerates before the others (integer-like names
 * come first whatever their insertion order).
 */
function stringLeavesInOrder(input: PolicyInput): boolean {
  const strings = (values: readonly unknown[]): boolean => values.every((value) => typeof value === 'string' && value.isWellFormed());
  const { policy, principal, run, task, workflow } = input;
  return (
    strings([policy.authority, policy.license, policy.purpose, principal.subject, run.namespace, run.runId, run.traceId ?? '', workflow.digest, workflow.name, workflow.version]) &&
    strings(principal.namespaces) &&
    strings(principal.roles) &&
    (task === undefined || (strings([task.id, task.runsOn, task.uses]) && strings(Object.values(task.labels)) && !Object.keys(task.labels).some((name) => /^\d+$/.test(name) || !name.isWellFormed())))
  );
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}

/** The principal assumed when a run carries none: nobody, with no role — every check fails. */
const NOBODY: Principal = { subject: '(no principal: the run was started without one)', roles: [], namespaces: [] };

/**
 * The task-stage policy input of one `runTask` attempt. A run started without a principal (or by
 * an older interpreter) gets {@link NOBODY}, which the default policy denies: no principal, no work.
 *
 * @example
 * // in runTask, before anything else:
 * const { recorded } = await policy.admit(taskPolicyInput(input));
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

/** Inputs {@link buildPolicyInput} built in canonical member order with string leaves only. */
const inCanonicalOrder = new WeakSet<PolicyInput>();

/**
 * The RFC 8785 canonical JSON of a policy input and its `sha256:` digest: computed once per input
 * object (the PDP evaluates and hashes it, the gate's audit record keeps it). An input built by
 * {@link buildPolicyInput} is frozen and, when its leaves are strings, already in canonical order:
 * JSON.stringify (native, a fifth of the time) writes the same text.
 */
export function canonicalInput(input: PolicyInput): { json: string; digest: string } {
  const known = canonicalForms.get(input);
  if (known !== undefined) return known;
  const json = inCanonicalOrder.has(input) ? JSON.stringify(input) : canonicalJson(input);
  const form = { json, digest: `sha256:${hash('sha256', json)}` };
  canonicalForms.set(input, form);
  return form;
}
