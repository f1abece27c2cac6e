/**
 * Webhook and message triggers: the list (runbook, source, last fired) and one trigger with its
 * definition and recent runs; an operator pauses and unpauses it here.
 */
import { useState } from 'react';
import { request, type Trigger } from '../api/index.js';
import { ProblemNotice } from '../components/ProblemNotice.js';
import { useRowKeys } from '../components/virtual-rows.js';
import { formatTime } from '../format.js';
import { useResource } from '../hooks.js';
import { Link } from '../router.js';

/** Console path of a trigger. */
export function triggerLink(namespace: string, name: string): string {
  return `/triggers/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
}

/** Where a trigger's events come from, in a few words. */
function sourceOf(trigger: Trigger): string {
  if (trigger.kind === 'webhook') return `webhook ${trigger.hookPath ?? ''}`;
  const source = trigger.source as { nats?: { subject: string }; kafka?: { topic: string } } | undefined;
  return trigger.kind === 'nats' ? `NATS ${source?.nats?.subject ?? ''}` : `Kafka ${source?.kafka?.topic ?? ''}`;
}

/** Every trigger of the caller's namespaces (`GET /triggers`). */
export function TriggerList() {
  const triggers = useResource<{ items: Trigger[] }>('/triggers');
  const items = triggers.data?.items ?? [];
  const onRowKey = useRowKeys(items.length);
  return (
    <section aria-labelledby="triggers-title">
      <h1 id="triggers-title">Triggers</h1>
      <ProblemNotice error={triggers.error} />
      <table className="table" data-testid="triggers">
        <thead>
          <tr>
            <th scope="col">Trigger</th>
            <th scope="col">Namespace</th>
            <th scope="col">Runbook</th>
            <th scope="col">Source</th>
            <th scope="col">State</th>
            <th scope="col">Last fired</th>
          </tr>
        </thead>
        <tbody onKeyDown={onRowKey}>
          {items.map((trigger, index) => (
            <tr key={`${trigger.namespace}/${trigger.name}`} data-row-index={index}>
              <td>
                <Link to={triggerLink(trigger.namespace, trigger.name)}>{trigger.name}</Link>
              </td>
              <td>{trigger.namespace}</td>
              <td className="mono">{trigger.runbook}</td>
              <td className="mono">{sourceOf(trigger)}</td>
              <td>{trigger.paused ? 'paused' : 'enabled'}</td>
              <td>{trigger.lastFiredAt ? formatTime(trigger.lastFiredAt) : 'never'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** One trigger: its definition (the secret by name only), for whom it acts, and its recent runs. */
export function TriggerDetail({ namespace, name }: { namespace: string; name: string }) {
  const path = `/triggers/${encodeURIComponent(name)}?namespace=${encodeURIComponent(namespace)}`;
  const resource = useResource<Trigger>(path);
  const [failure, setFailure] = useState<unknown>();
  const trigger = resource.data;
  const toggle = async (): Promise<void> => {
    if (!trigger) return;
    try {
      const res = await request('POST', `/triggers/${encodeURIComponent(name)}/${trigger.paused ? 'unpause' : 'pause'}?namespace=${encodeURIComponent(namespace)}`);
      const updated = (await res.json()) as Trigger;
      resource.setData(() => updated);
      setFailure(undefined);
    } catch (error) {
      setFailure(error);
    }
  };
  return (
    <section aria-labelledby="trigger-title" data-testid="trigger-detail">
      <h1 id="trigger-title">
        {namespace}/{name}
      </h1>
      <ProblemNotice error={resource.error ?? failure} />
      {trigger ? (
        <>
          <dl className="facts">
            <dt>Runbook</dt>
            <dd className="mono">{trigger.runbook}</dd>
            <dt>Source</dt>
            <dd className="mono">{sourceOf(trigger)}</dd>
            {trigger.auth ? (
              <>
                <dt>Authentication</dt>
                <dd className="mono">
                  {trigger.auth.scheme} in {trigger.auth.header}, secret {trigger.auth.secret}
                </dd>
              </>
            ) : null}
            {trigger.filter ? (
              <>
                <dt>Filter</dt>
                <dd className="mono">{trigger.filter}</dd>
              </>
            ) : null}
            <dt>Acts for</dt>
            <dd>
              {trigger.actsAs.subject} ({trigger.actsAs.roles.join(', ') || 'no roles'})
            </dd>
            <dt>Limits</dt>
            <dd>
              {trigger.rateLimit.perMinute} per minute; duplicates within {trigger.dedupWindow}
            </dd>
            <dt>State</dt>
            <dd>
              {trigger.paused ? 'paused' : 'enabled'}{' '}
              <button type="button" onClick={() => void toggle()}>
                {trigger.paused ? 'Unpause' : 'Pause'}
              </button>
            </dd>
            <dt>Updated</dt>
            <dd>{formatTime(trigger.updatedAt)}</dd>
          </dl>
          <h2>Recent runs</h2>
          {trigger.recentRuns.length === 0 ? (
            <p>It has not started a run yet.</p>
          ) : (
            <table className="table" data-testid="trigger-runs">
              <thead>
                <tr>
                  <th scope="col">Run</th>
                  <th scope="col">Fired</th>
                </tr>
              </thead>
              <tbody>
                {trigger.recentRuns.map((run) => (
                  <tr key={`${run.runId}-${run.firedAt}`}>
                    <td className="mono">
                      <Link to={`/runs/${encodeURIComponent(run.runId)}`}>{run.runId}</Link>
                    </td>
                    <td>{formatTime(run.firedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <details>
            <summary>Definition</summary>
            <pre className="json">{JSON.stringify({ inputs: trigger.inputs, items: trigger.items, dedupKey: trigger.dedupKey, source: trigger.source, note: trigger.note }, null, 2)}</pre>
          </details>
        </>
      ) : resource.loading ? (
        <p aria-live="polite">Loading…</p>
      ) : null}
    </section>
  );
}
