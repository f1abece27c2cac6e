/**
 * The console's shell: the header with navigation and settings, the sign-in gate, and the page
 * the address names.
 */
import { useEffect, useId, useRef, useState, useSyncExternalStore } from 'react';
import { getToken, setToken, TOKEN_EVENT } from './api/index.js';
import { preloadDag } from './components/Dag.js';
import { useModal } from './components/modal.js';
import { prefetch, useConsoleConfig } from './hooks.js';
import { Approvals, ApprovalsLink } from './pages/Approvals.js';
import { Audit } from './pages/Audit.js';
import { Operations } from './pages/Operations.js';
import { RunbookList, RunbookTrigger } from './pages/Runbooks.js';
import { RunDetail, runPath } from './pages/RunDetail.js';
import { RunsList, runsPath } from './pages/RunsList.js';
import { ScheduleList, ScheduleView } from './pages/Schedules.js';
import { SignIn } from './pages/SignIn.js';
import { TaskList, TaskView } from './pages/Tasks.js';
import { TriggerDetail, TriggerList } from './pages/Triggers.js';
import { Usage } from './pages/Usage.js';
import { WorkflowList, WorkflowVersion, workflowPath } from './pages/Workflows.js';
import { currentLocation, Link, match, useLocation } from './router.js';

function subscribeToken(onChange: () => void): () => void {
  window.addEventListener(TOKEN_EVENT, onChange);
  return () => window.removeEventListener(TOKEN_EVENT, onChange);
}

/** The page a console path shows, with its parameters. */
type Route =
  | { page: 'run'; runId: string }
  | { page: 'version'; name: string; version: string }
  | { page: 'workflows' }
  | { page: 'schedule'; id: string }
  | { page: 'schedules' }
  | { page: 'trigger'; namespace: string; name: string }
  | { page: 'triggers' }
  | { page: 'runbook'; namespace: string; name: string }
  | { page: 'runbooks' }
  | { page: 'approvals' }
  | { page: 'task'; name: string }
  | { page: 'tasks' }
  | { page: 'usage' }
  | { page: 'runs' }
  | { page: 'operations' }
  | { page: 'audit' }
  | { page: 'not-found' };

function routeOf(path: string): Route {
  const run = match('/runs/:runId', path);
  if (run?.runId) return { page: 'run', runId: run.runId };
  const version = match('/workflows/:name/versions/:version', path);
  if (version?.name && version.version) return { page: 'version', name: version.name, version: version.version };
  if (match('/workflows', path)) return { page: 'workflows' };
  const schedule = match('/schedules/:id', path);
  if (schedule?.id) return { page: 'schedule', id: schedule.id };
  if (match('/schedules', path)) return { page: 'schedules' };
  const trigger = match('/triggers/:namespace/:name', path);
  if (trigger?.namespace && trigger.name) return { page: 'trigger', namespace: trigger.namespace, name: trigger.name };
  if (match('/triggers', path)) return { page: 'triggers' };
  const runbook = match('/runbooks/:namespace/:name', path);
  if (runbook?.namespace && runbook.name) return { page: 'runbook', namespace: runbook.namespace, name: runbook.name };
  if (match('/runbooks', path)) return { page: 'runbooks' };
  if (match('/approvals', path)) return { page: 'approvals' };
  const task = match('/tasks/:group/:name', path);
  if (task?.group && task.name) return { page: 'task', name: `${task.group}/${task.name}` };
  if (match('/tasks', path)) return { page: 'tasks' };
  if (match('/operations', path)) return { page: 'operations' };
  if (match('/usage', path)) return { page: 'usage' };
  if (match('/audit', path)) return { page: 'audit' };
  if (path === '/' || path === '') return { page: 'runs' };
  return { page: 'not-found' };
}

/**
 * Starts what the page at the current address needs first, before React has loaded and rendered
 * it: its first GET of the API (see `prefetch`) and, for a page with a DAG, the DAG view's code.
 * Nothing without a token: the sign-in page comes first.
 */
export function prefetchPage(): void {
  if (getToken() === undefined) return;
  const { path, query } = currentLocation();
  const route = routeOf(path);
  if (route.page === 'runs') prefetch(runsPath(query));
  else if (route.page === 'version') prefetch(workflowPath(route.name, route.version, query.get('namespace') ?? undefined));
  else if (route.page === 'run') prefetch(runPath(route.runId));
  if (route.page === 'version' || route.page === 'run') preloadDag();
}

/** The page for the current address. */
function Page() {
  const { path, query } = useLocation();
  const route = routeOf(path);
  if (route.page === 'run') return <RunDetail key={route.runId} runId={route.runId} selectedTask={query.get('task') ?? undefined} />;
  if (route.page === 'version') return <WorkflowVersion key={path} name={route.name} version={route.version} namespace={query.get('namespace') ?? undefined} selectedTask={query.get('task') ?? undefined} />;
  if (route.page === 'workflows') return <WorkflowList />;
  if (route.page === 'schedule') return <ScheduleView key={path} id={route.id} namespace={query.get('namespace') ?? undefined} />;
  if (route.page === 'schedules') return <ScheduleList />;
  if (route.page === 'trigger') return <TriggerDetail key={path} namespace={route.namespace} name={route.name} />;
  if (route.page === 'triggers') return <TriggerList />;
  if (route.page === 'runbook') return <RunbookTrigger key={path + query.toString()} namespace={route.namespace} name={route.name} version={query.get('version') ?? undefined} />;
  if (route.page === 'runbooks') return <RunbookList />;
  if (route.page === 'approvals') return <Approvals />;
  if (route.page === 'task') return <TaskView key={path + query.toString()} name={route.name} version={query.get('version') ?? undefined} />;
  if (route.page === 'tasks') return <TaskList />;
  if (route.page === 'usage') return <Usage key={path + query.toString()} namespace={query.get('namespace') ?? undefined} />;
  if (route.page === 'runs') return <RunsList query={query} />;
  if (route.page === 'operations') return <Operations query={query} />;
  if (route.page === 'audit') return <Audit query={query} />;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        No console page at <code>{path}</code>. <Link to="/">Go to the runs.</Link>
      </p>
    </section>
  );
}

/** The settings dialog: the Temporal Web UI address (kept in this browser). */
function Settings({ onClose }: { onClose: () => void }) {
  const config = useConsoleConfig();
  const [url, setUrl] = useState(config.temporalUiUrl ?? '');
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  useModal(ref);
  return (
    <dialog ref={ref} className="dialog" aria-labelledby={`${id}-title`} onCancel={onClose}>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          config.saveTemporalUiUrl(url.trim());
          onClose();
        }}
      >
        <h2 id={`${id}-title`}>Settings</h2>
        <label htmlFor={id}>Temporal Web UI address</label>
        <input id={id} type="url" placeholder="http://localhost:8233" value={url} onChange={(event) => setUrl(event.target.value)} />
        <p className="hint">Empty uses the address the API reports{config.temporalUiUrl ? '' : ' (none)'}.</p>
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>
            Close
          </button>
          <button type="submit" className="primary">
            Save
          </button>
        </div>
      </form>
    </dialog>
  );
}

/** The whole console. */
export function App() {
  const token = useSyncExternalStore(subscribeToken, getToken);
  const [signedIn, setSignedIn] = useState(token !== undefined);
  const [settings, setSettings] = useState(false);
  useEffect(() => {
    if (token !== undefined) setSignedIn(true);
  }, [token]);
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="app-header">
        <Link to="/" className="brand">
          Maestro
        </Link>
        <nav aria-label="Main">
          <Link to="/">Runs</Link>
          <Link to="/workflows">Workflows</Link>
          <Link to="/runbooks">Runbooks</Link>
          <Link to="/tasks">Tasks</Link>
          {token ? <ApprovalsLink key={token} /> : <Link to="/approvals">Approvals</Link>}
          <Link to="/schedules">Schedules</Link>
          <Link to="/triggers">Triggers</Link>
          <Link to="/operations">Operations</Link>
          <Link to="/usage">Usage</Link>
          <Link to="/audit">Audit</Link>
        </nav>
        <div className="header-tools">
          <button type="button" onClick={() => setSettings(true)}>
            Settings
          </button>
          {token ? (
            <button
              type="button"
              onClick={() => {
                setSignedIn(false);
                setToken(undefined);
              }}
            >
              Sign out
            </button>
          ) : null}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {token ? <Page /> : <SignIn rejected={signedIn} />}
      </main>
      {settings ? <Settings onClose={() => setSettings(false)} /> : null}
    </>
  );
}
