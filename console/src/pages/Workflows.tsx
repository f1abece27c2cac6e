/**
 * Registered workflows: the list of versions, and one version's DAG, tasks and manifest, with a
 * form that starts a run of it.
 */
import { useDeferredValue, useEffect, useMemo } from 'react';
import { requestJson, type RunCreated, type TaskNode, type WorkflowDetail, type WorkflowSummary } from '../api/index.js';
import { Dag, useDagSettled } from '../components/Dag.js';
import { ProblemNotice } from '../components/ProblemNotice.js';
import { useRowKeys } from '../components/virtual-rows.js';
import { StartForm } from '../components/StartForm.js';
import { dagTasks } from '../dag-tasks.js';
import { formatTime } from '../format.js';
import { useResource } from '../hooks.js';
import { Link, navigate } from '../router.js';

const NO_TASKS: readonly TaskNode[] = [];

/** Console path of a registered workflow version (`?namespace=` picks where it is looked up). */
export function workflowLink(name: string, version: string, namespace: string, task?: string): string {
  const query = new URLSearchParams({ namespace, ...(task === undefined ? {} : { task }) });
  return `/workflows/${name}/versions/${version}?${query.toString()}`;
}

/** Every workflow version registered in the caller's namespaces (`GET /workflows`). */
export function WorkflowList() {
  const workflows = useResource<{ items: WorkflowSummary[] }>('/workflows');
  const items = workflows.data?.items ?? [];
  const onRowKey = useRowKeys(items.length);
  return (
    <section aria-labelledby="workflows-title">
      <h1 id="workflows-title">Workflows</h1>
      <ProblemNotice error={workflows.error} />
      <table className="table" data-testid="workflows">
        <thead>
          <tr>
            <th scope="col">Workflow</th>
            <th scope="col">Namespace</th>
            <th scope="col">Digest</th>
            <th scope="col">Registered</th>
            <th scope="col">By</th>
          </tr>
        </thead>
        <tbody onKeyDown={onRowKey}>
          {items.map((item, index) => (
            <tr key={`${item.namespace}/${item.name}@${item.version}`} data-row-index={index}>
              <td>
                <Link to={workflowLink(item.name, item.version, item.namespace)}>
                  {item.name}@{item.version}
                </Link>
              </td>
              <td>{item.namespace}</td>
              <td className="mono digest" title={item.digest}>
                {item.digest}
              </td>
              <td>{formatTime(item.createdAt)}</td>
              <td>{item.createdBy}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** The API path of a workflow version registered in `namespace` (the API's default when absent). */
export function workflowPath(name: string, version: string, namespace: string | undefined): string {
  return `/workflows/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}${namespace === undefined ? '' : `?namespace=${encodeURIComponent(namespace)}`}`;
}

/**
 * One workflow version of `namespace`: its compiled DAG, tasks and manifest; a link to its runs.
 * `namespace` and `selectedTask` come from `?namespace=` and `?task=`.
 */
export function WorkflowVersion({ name, version, namespace, selectedTask }: { name: string; version: string; namespace: string | undefined; selectedTask: string | undefined }) {
  const workflow = useResource<WorkflowDetail>(workflowPath(name, version, namespace));
  const detail = workflow.data;
  const graph = useMemo(() => (detail ? dagTasks(detail.ir) : undefined), [detail]);
  // The table fills in a render of its own once the DAG's code is there, after the DAG has been
  // drawn: with 1,000 tasks, rendering and laying out its rows first held back the graph's first
  // drawing by 0.3 s (also when they filled in while the DAG's code was loading).
  const dagSettled = useDagSettled();
  const rows = useDeferredValue(dagSettled ? (detail?.ir.tasks ?? NO_TASKS) : NO_TASKS, NO_TASKS);
  useEffect(() => {
    if (selectedTask) document.getElementById(`task-${selectedTask}`)?.scrollIntoView({ block: 'nearest' });
  }, [selectedTask, rows]);
  return (
    <section aria-labelledby="workflow-title" data-testid="workflow-version">
      <h1 id="workflow-title">
        {name}@{version}
      </h1>
      <ProblemNotice error={workflow.error} />
      {detail ? (
        <>
          <dl className="facts">
            <dt>Digest</dt>
            <dd className="mono digest">{detail.digest}</dd>
            <dt>Registered</dt>
            <dd>
              {formatTime(detail.createdAt)} by {detail.createdBy}
            </dd>
            {detail.ir.description ? (
              <>
                <dt>Description</dt>
                <dd>{detail.ir.description}</dd>
              </>
            ) : null}
            <dt>Tasks</dt>
            <dd>{detail.ir.tasks.length}</dd>
          </dl>
          <p className="links">
            <Link to={`/?workflowRef=${encodeURIComponent(`${name}@${version}`)}`}>Runs of this version</Link>
          </p>
          <details className="start-run" data-testid="start-run">
            <summary>Start a run</summary>
            <StartForm
              title={`Start a run of ${name}@${version}`}
              fields={detail.ir.parameters}
              namespace={detail.namespace}
              actions={[
                {
                  label: 'Start run',
                  primary: true,
                  run: async ({ params, namespace: target, priority }) => {
                    const created = await requestJson<RunCreated>('POST', '/runs', { json: { workflowRef: `${name}@${version}`, params, namespace: target, ...(priority === undefined ? {} : { priority }) } });
                    navigate(`/runs/${encodeURIComponent(created.runId)}`);
                  },
                },
              ]}
            />
          </details>
          <h2>DAG</h2>
          <Dag tasks={graph ?? []} height={520} onSelectTask={(id) => navigate(workflowLink(name, version, detail.namespace, id), { replace: true })} />
          <h2>Tasks</h2>
          <table className="table" data-testid="workflow-tasks">
            <thead>
              <tr>
                <th scope="col">Task</th>
                <th scope="col">Uses</th>
                <th scope="col">Needs</th>
                <th scope="col">Runs as</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((task) => (
                <tr key={task.id} id={`task-${task.id}`} data-task-id={task.id} className={task.id === selectedTask ? 'selected' : undefined} aria-current={task.id === selectedTask ? 'true' : undefined}>
                  <th scope="row" className="mono">
                    {task.id}
                  </th>
                  <td className="mono">{task.uses}</td>
                  <td className="mono">{task.needs.join(', ') || '–'}</td>
                  <td>{task.execution === 'approval' ? 'approval gate' : task.execution === 'timer' ? 'durable timer' : task.execution === 'workflow' ? 'sub-workflow' : `${task.runsOn} activity`}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <details>
            <summary>Manifest</summary>
            <pre className="json">{detail.manifest}</pre>
          </details>
        </>
      ) : workflow.loading ? (
        <p aria-live="polite">Loading…</p>
      ) : null}
    </section>
  );
}
