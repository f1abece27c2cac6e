/**
 * Runbooks: those the caller may trigger, and those they may not greyed with the roles needed; a
 * runbook's trigger form from its inputs, a dry-run preview (the computed params, the plan and
 * every policy decision, nothing started), then the trigger itself.
 */
import { useState } from 'react';
import { requestJson, type PolicyDecision, type RunbookPlan, type RunbookSummary, type RunCreated } from '../api/index.js';
import { ParamValues } from '../components/ParamValues.js';
import { ProblemNotice } from '../components/ProblemNotice.js';
import { useRowKeys } from '../components/virtual-rows.js';
import { StartForm } from '../components/StartForm.js';
import { formatTime } from '../format.js';
import { useResource } from '../hooks.js';
import { Link, navigate } from '../router.js';

/** Console path of a runbook version's trigger page. */
export function runbookLink(namespace: string, name: string, version: string): string {
  return `/runbooks/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}?version=${encodeURIComponent(version)}`;
}

/** Every runbook version of the caller's namespaces (`GET /runbooks`). */
export function RunbookList() {
  const runbooks = useResource<{ items: RunbookSummary[] }>('/runbooks');
  const items = runbooks.data?.items ?? [];
  const onRowKey = useRowKeys(items.length);
  return (
    <section aria-labelledby="runbooks-title">
      <h1 id="runbooks-title">Runbooks</h1>
      <ProblemNotice error={runbooks.error} />
      <table className="table" data-testid="runbooks">
        <thead>
          <tr>
            <th scope="col">Runbook</th>
            <th scope="col">Namespace</th>
            <th scope="col">Workflow</th>
            <th scope="col">Who may trigger</th>
            <th scope="col">Registered</th>
          </tr>
        </thead>
        <tbody onKeyDown={onRowKey}>
          {items.map((runbook, index) => {
            const label = `${runbook.name}@${runbook.version}`;
            const roles = runbook.allowedRoles?.join(', ') || 'no role';
            return (
              <tr key={`${runbook.namespace}/${label}`} className={runbook.mayTrigger ? undefined : 'greyed'} data-may-trigger={runbook.mayTrigger ? 'true' : 'false'} data-row-index={index} tabIndex={index === 0 && !runbook.mayTrigger ? 0 : undefined}>
                <td>
                  {runbook.mayTrigger ? <Link to={runbookLink(runbook.namespace, runbook.name, runbook.version)}>{label}</Link> : <span aria-disabled="true">{label}</span>}
                  {runbook.description ? <div className="hint">{runbook.description}</div> : null}
                </td>
                <td>{runbook.namespace}</td>
                <td className="mono">{runbook.workflowRef}</td>
                <td>{runbook.mayTrigger ? roles : `Needs role ${roles}`}</td>
                <td>{formatTime(runbook.createdAt)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

/** A policy decision in a few words, with its reasons. */
function Decision({ decision }: { decision: PolicyDecision | undefined }) {
  if (!decision) return <span className="hint">not governed by the policy</span>;
  return (
    <span data-decision={decision.allow ? 'allow' : 'deny'}>
      <strong>{decision.allow ? 'allowed' : 'denied'}</strong>
      {decision.fallback ? ` (fallback ${decision.fallback})` : ''}
      {decision.reasons.length > 0 ? `: ${decision.reasons.join('; ')}` : ''}
    </span>
  );
}

/** A dry run's plan: the computed params, each task with its decision, and the run's own. */
function PlanView({ plan }: { plan: RunbookPlan }) {
  return (
    <section aria-labelledby="plan-title" data-testid="runbook-plan" data-allow={plan.policy ? String(plan.policy.allow) : undefined}>
      <h2 id="plan-title">Dry run: what a trigger would do</h2>
      <p role="status">
        {plan.policy === undefined ? 'The API checks no policy: a trigger would start.' : plan.policy.allow ? 'The policy allows this trigger.' : 'The policy would refuse this trigger: nothing would start.'} Nothing has started.
      </p>
      <dl className="facts">
        <dt>Workflow</dt>
        <dd className="mono">{plan.workflowRef}</dd>
        <dt>Digest</dt>
        <dd className="mono digest" title={plan.digest}>
          {plan.digest}
        </dd>
        {plan.policy ? (
          <>
            <dt>Run start</dt>
            <dd>
              <Decision decision={plan.policy.decision} />
            </dd>
            <dt>Recorded under</dt>
            <dd className="mono">{plan.policy.runId}</dd>
          </>
        ) : null}
      </dl>
      <h3>Params</h3>
      <ParamValues params={plan.params} />
      <h3>Tasks</h3>
      <table className="table" data-testid="plan-tasks">
        <thead>
          <tr>
            <th scope="col">Task</th>
            <th scope="col">Uses</th>
            <th scope="col">Needs</th>
            <th scope="col">Policy</th>
          </tr>
        </thead>
        <tbody>
          {plan.tasks.map((task) => (
            <tr key={task.id}>
              <th scope="row" className="mono">
                {task.id}
              </th>
              <td className="mono">{task.uses}</td>
              <td className="mono">{task.needs.join(', ') || '–'}</td>
              <td>
                <Decision decision={task.decision} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** One runbook version's trigger page (`version` from `?version=`; the newest when absent). */
export function RunbookTrigger({ namespace, name, version }: { namespace: string; name: string; version: string | undefined }) {
  const runbooks = useResource<{ items: RunbookSummary[] }>(`/runbooks?namespace=${encodeURIComponent(namespace)}`);
  const versions = (runbooks.data?.items ?? []).filter((item) => item.name === name);
  const runbook = version === undefined ? versions.at(-1) : versions.find((item) => item.version === version);
  const [plan, setPlan] = useState<RunbookPlan>();
  const ref = runbook ? `${runbook.name}@${runbook.version}` : name;
  const trigger = (values: { params: Record<string, unknown>; namespace: string; priority?: number }, dryRun: boolean) =>
    requestJson<RunbookPlan | RunCreated>('POST', '/runbooks/trigger', {
      json: { runbook: ref, inputs: values.params, namespace: values.namespace, dryRun, ...(values.priority === undefined ? {} : { priority: values.priority }) },
    });
  return (
    <section aria-labelledby="runbook-title" data-testid="runbook-trigger">
      <h1 id="runbook-title">
        Runbook {namespace}/{ref}
      </h1>
      <ProblemNotice error={runbooks.error} />
      {runbook ? (
        <>
          <dl className="facts">
            {runbook.description ? (
              <>
                <dt>Description</dt>
                <dd>{runbook.description}</dd>
              </>
            ) : null}
            <dt>Workflow</dt>
            <dd className="mono">{runbook.workflowRef}</dd>
            <dt>Who may trigger</dt>
            <dd>{runbook.allowedRoles?.join(', ') || 'no role'}</dd>
            {runbook.approvers ? (
              <>
                <dt>Approval</dt>
                <dd>the run waits for an approval by {runbook.approvers.join(', ')} before its workflow starts</dd>
              </>
            ) : null}
          </dl>
          {runbook.mayTrigger ? null : (
            <p className="notice notice-error" role="status">
              You hold none of the roles that may trigger this runbook ({runbook.allowedRoles?.join(', ') || 'none'}).
            </p>
          )}
          <StartForm
            title={`Trigger ${ref}`}
            fields={runbook.inputs ?? []}
            namespace={namespace}
            actions={[
              {
                label: 'Preview (dry run)',
                run: async (values) => {
                  setPlan(undefined);
                  setPlan((await trigger(values, true)) as RunbookPlan);
                },
              },
              {
                label: 'Trigger',
                primary: true,
                run: async (values) => {
                  const answer = await trigger(values, false);
                  if ('runId' in answer) navigate(`/runs/${encodeURIComponent(answer.runId)}`);
                  else setPlan(answer);
                },
              },
            ]}
          >
            {plan ? <PlanView plan={plan} /> : null}
          </StartForm>
        </>
      ) : runbooks.loading ? (
        <p aria-live="polite">Loading…</p>
      ) : runbooks.data ? (
        <p>
          No runbook {ref} in namespace {namespace}. <Link to="/runbooks">All runbooks</Link>
        </p>
      ) : null}
    </section>
  );
}
