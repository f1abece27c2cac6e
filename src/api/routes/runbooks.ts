/**
 * `/runbooks`: register and list runbooks; trigger an allow-listed one. A runbook belongs to the
 * namespace of its `metadata.namespace` (default `default`); a trigger finds it, and the workflow
 * it references, only inside the namespace the trigger acts in, so no other namespace's
 * registration can shadow it.
 */
import { digestOf } from '../../canonical/index.js';
import { redactParams } from '../../ir/index.js';
import { checkRunStart } from '../../policy/index.js';
import { caller, type RouteHandler } from '../context.js';
import { newRunId, planDecisions, planRunbook, startRunbook } from '../../runs/index.js';
import { launchContext, requestNamespace, runPrincipal, startedByCaller, visibleNamespaces } from './access.js';
import { runbookFromBody } from './manifests.js';

/** `POST /runbooks`: 201 when new, 200 when identical, 409 when `name@version` differs. */
export const registerRunbook: RouteHandler = async (context) => {
  const principal = caller(context);
  const { manifest, text } = runbookFromBody(context);
  const digest = digestOf(manifest);
  const { name, version } = manifest.metadata;
  const namespace = requestNamespace(principal, manifest.metadata.namespace);
  const outcome = await context.deps.store.putRunbook({
    namespace,
    name,
    version,
    digest,
    workflowRef: manifest.spec.workflowRef,
    document: manifest,
    manifest: text,
    createdAt: context.deps.clock().toISOString(),
    createdBy: principal.subject,
  });
  return { status: outcome === 'created' ? 201 : 200, body: { namespace, name, version, digest } };
};

/**
 * `GET /runbooks[?namespace=]`: the versions registered in the caller's namespaces (or the one
 * named), each with what a trigger form needs (its inputs, a secret input's default left out), the
 * roles that may trigger it, and whether the caller holds one (`mayTrigger`: the check
 * `POST /runbooks/trigger` makes first).
 */
export const listRunbooks: RouteHandler = async (context) => {
  const principal = caller(context);
  const namespaces = visibleNamespaces(principal, (context.query as { namespace?: string }).namespace);
  const records = await context.deps.store.listRunbooks(namespaces);
  const items = await Promise.all(
    records.map(async (record) => {
      const document = (await context.deps.store.getRunbook(record.namespace, record.name, record.version))?.document;
      if (document === undefined) return record;
      const allowedRoles = document.metadata.allowList?.roles ?? [];
      const approvers = document.metadata.approvals?.required ? document.metadata.approvals.approvers : undefined;
      return {
        ...record,
        ...(document.metadata.description === undefined ? {} : { description: document.metadata.description }),
        inputs: document.spec.inputs.map(({ default: value, ...input }) => (input.secret || value === undefined ? input : { ...input, default: value })),
        allowedRoles,
        mayTrigger: principal.roles.some((role) => allowedRoles.includes(role)),
        ...(approvers === undefined ? {} : { approvers }),
      };
    }),
  );
  return { status: 200, body: { items } };
};

interface TriggerBody {
  runbook: string;
  inputs: Record<string, unknown>;
  namespace?: string;
  priority?: number;
  dryRun?: boolean;
  idempotencyKey?: string;
}

/**
 * `POST /runbooks/trigger`: 403 `RUNBOOK_NOT_ALLOWED` unless the caller holds an allow-listed
 * role; inputs checked; a dry run returns the plan (200) with the policy decisions the trigger
 * would get; otherwise the policy decides the start, then 201 with the run.
 */
export const triggerRunbook: RouteHandler = async (context) => {
  const principal = caller(context);
  const body = context.body as TriggerBody;
  const namespace = requestNamespace(principal, body.namespace);
  const startContext = { ...launchContext(context.deps), catalog: context.deps.catalog };
  const request = { namespace, runbook: body.runbook, inputs: body.inputs, ...startedByCaller(context, principal) };
  const plan = await planRunbook(startContext, request);
  const runbook = plan.entry.document;
  if (body.dryRun ?? runbook.spec.dryRun ?? false) {
    const { entry, compiled, params } = plan;
    // The decisions are recorded under an id no run will ever have, so the audit log keeps the
    // question apart from real runs.
    const runId = `dry-${newRunId()}`;
    const policy = context.deps.policy;
    const decisions = policy === undefined ? undefined : planDecisions(await checkRunStart(policy, { principal: runPrincipal(principal), compiled, run: { runId, namespace } }));
    return {
      status: 200,
      body: {
        dryRun: true,
        runbook: `${entry.name}@${entry.version}`,
        workflowRef: runbook.spec.workflowRef,
        namespace,
        digest: compiled.digest,
        params: redactParams(compiled.ir.parameters, params),
        tasks: compiled.ir.tasks.map((task) => {
          const decision = decisions?.tasks.get(task.id);
          return { id: task.id, uses: task.uses, needs: task.needs, ...(decision === undefined ? {} : { decision }) };
        }),
        ...(decisions === undefined ? {} : { policy: { runId, allow: decisions.allow, decision: decisions.run } }),
      },
    };
  }
  const result = await startRunbook(startContext, {
    ...request,
    ...(body.priority === undefined ? {} : { priority: body.priority }),
    ...(body.idempotencyKey === undefined ? {} : { idempotencyKey: body.idempotencyKey }),
  });
  return { status: result.created ? 201 : 200, body: { runId: result.runId, status: result.status, workflowRef: runbook.spec.workflowRef, namespace } };
};
