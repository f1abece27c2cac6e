/**
 * The task catalog: every task (built-in and from task modules) with its versions; one task's
 * input and output schemas as readable tables, an example `uses:` snippet, and the workflows of
 * the caller's namespaces that use it.
 */
import type { CatalogTask } from '../api/index.js';
import { ProblemNotice } from '../components/ProblemNotice.js';
import { useRowKeys } from '../components/virtual-rows.js';
import { useResource } from '../hooks.js';
import { Link } from '../router.js';
import { workflowLink } from './Workflows.js';

type Schema = Record<string, unknown>;

/** Console path of a task (`group/name`), at `version` when given. */
export function taskLink(name: string, version?: string): string {
  return `/tasks/${name.split('/').map(encodeURIComponent).join('/')}${version === undefined ? '' : `?version=${encodeURIComponent(version)}`}`;
}

/** A property's type in a few words: its enum, its type(s), or "any". */
function typeOf(schema: Schema): string {
  if (Array.isArray(schema.enum)) return schema.enum.map((value) => JSON.stringify(value)).join(' | ');
  if ('const' in schema) return JSON.stringify(schema.const);
  if (Array.isArray(schema.type)) return schema.type.join(' | ');
  if (typeof schema.type === 'string') {
    const items = schema.items as Schema | undefined;
    return schema.type === 'array' && items ? `array of ${typeOf(items)}` : schema.type;
  }
  if (Array.isArray(schema.oneOf) || Array.isArray(schema.anyOf)) return ((schema.oneOf ?? schema.anyOf) as Schema[]).map(typeOf).join(' | ');
  return 'any';
}

/** A placeholder value for an example: the default, the first enum value, or the type's shape. */
function exampleOf(schema: Schema): string {
  if (schema.default !== undefined) return JSON.stringify(schema.default);
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return JSON.stringify(schema.enum[0]);
  return `<${typeOf(schema)}>`;
}

/** The `with:` properties of a task's input schema. */
function propertiesOf(schema: Schema): [string, Schema][] {
  return Object.entries((schema.properties ?? {}) as Record<string, Schema>);
}

/** The names a schema requires, with those of its first `oneOf`/`anyOf` alternative (e.g. "`ms` or `duration`"). */
function requiredOf(schema: Schema): Set<string> {
  const names = (value: unknown): string[] => (Array.isArray(value) ? (value as string[]) : []);
  const alternatives = (schema.oneOf ?? schema.anyOf) as Schema[] | undefined;
  return new Set([...names(schema.required), ...names(alternatives?.[0]?.required)]);
}

/** A manifest snippet that uses `task`, with its required inputs. */
export function usesSnippet(task: Pick<CatalogTask, 'name' | 'version' | 'input'>): string {
  const required = requiredOf(task.input);
  const id = task.name.split('/').pop()?.replace(/[^a-z0-9]+/gi, '-').toLowerCase() ?? 'step';
  const inputs = propertiesOf(task.input).filter(([name]) => required.has(name));
  return [`- id: ${id}`, `  uses: ${task.name}@${task.version}`, ...(inputs.length === 0 ? [] : ['  with:', ...inputs.map(([name, schema]) => `    ${name}: ${exampleOf(schema)}`)])].join('\n');
}

/** A JSON Schema as a table of its properties (or its type when it has none), with the raw schema. */
function SchemaView({ title, schema, testId }: { title: string; schema: Schema; testId: string }) {
  const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
  const properties = propertiesOf(schema);
  return (
    <section aria-label={title} data-testid={testId}>
      <h2>{title}</h2>
      {typeof schema.description === 'string' ? <p>{schema.description}</p> : null}
      {properties.length === 0 ? (
        <p>
          Type: <code>{typeOf(schema)}</code>
        </p>
      ) : (
        <table className="table schema-props">
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">Type</th>
              <th scope="col">Required</th>
              <th scope="col">Default</th>
              <th scope="col">Description</th>
            </tr>
          </thead>
          <tbody>
            {properties.map(([name, property]) => (
              <tr key={name}>
                <th scope="row" className="mono">
                  {name}
                </th>
                <td className="mono">{typeOf(property)}</td>
                <td>{required.has(name) ? 'yes' : 'no'}</td>
                <td className="mono">{property.default === undefined ? '–' : JSON.stringify(property.default)}</td>
                <td>{typeof property.description === 'string' ? property.description : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <details>
        <summary>{title}: JSON Schema</summary>
        <pre className="json">{JSON.stringify(schema, null, 2)}</pre>
      </details>
    </section>
  );
}

/** Every task version (`GET /tasks`), one row per task with its versions. */
export function TaskList() {
  const tasks = useResource<{ items: CatalogTask[] }>('/tasks');
  const byName = new Map<string, CatalogTask[]>();
  for (const task of tasks.data?.items ?? []) byName.set(task.name, [...(byName.get(task.name) ?? []), task]);
  const onRowKey = useRowKeys(byName.size);
  return (
    <section aria-labelledby="tasks-title">
      <h1 id="tasks-title">Tasks</h1>
      <ProblemNotice error={tasks.error} />
      <table className="table" data-testid="tasks">
        <thead>
          <tr>
            <th scope="col">Task</th>
            <th scope="col">Versions</th>
            <th scope="col">Runs as</th>
            <th scope="col">Description</th>
            <th scope="col">Used by</th>
          </tr>
        </thead>
        <tbody onKeyDown={onRowKey}>
          {[...byName.entries()].map(([name, versions], index) => {
            const newest = versions[0] as CatalogTask;
            return (
              <tr key={name} data-row-index={index}>
                <td>
                  <Link to={taskLink(name)} className="mono">
                    {name}
                  </Link>
                  {newest.builtin ? null : <span className="tag">task module</span>}
                </td>
                <td className="mono">{versions.map((task) => task.version).join(', ')}</td>
                <td>{newest.execution}</td>
                <td>{newest.description}</td>
                <td>{new Set(versions.flatMap((task) => task.usedBy.map((user) => `${user.namespace}/${user.workflowRef}`))).size} workflow versions</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

/** One task (`name` is `group/name`), at `version` (`?version=`, newest when absent). */
export function TaskView({ name, version }: { name: string; version: string | undefined }) {
  const tasks = useResource<{ items: CatalogTask[] }>('/tasks');
  const versions = (tasks.data?.items ?? []).filter((task) => task.name === name);
  const task = version === undefined ? versions[0] : versions.find((candidate) => candidate.version === version);
  return (
    <section aria-labelledby="task-title" data-testid="task-view">
      <h1 id="task-title" className="mono">
        {name}
        {task ? `@${task.version}` : ''}
      </h1>
      <ProblemNotice error={tasks.error} />
      {task ? (
        <>
          <p>{task.description}</p>
          <dl className="facts">
            <dt>Versions</dt>
            <dd>
              {versions.map((candidate, index) => (
                <span key={candidate.version}>
                  {index > 0 ? ', ' : ''}
                  {candidate.version === task.version ? (
                    <strong className="mono">{candidate.version}</strong>
                  ) : (
                    <Link to={taskLink(name, candidate.version)} className="mono">
                      {candidate.version}
                    </Link>
                  )}
                </span>
              ))}
            </dd>
            <dt>Runs as</dt>
            <dd>{task.execution}</dd>
            <dt>Deterministic</dt>
            <dd>{task.deterministic ? 'yes (its outputs may be cached)' : 'no'}</dd>
            <dt>Source</dt>
            <dd>{task.builtin ? 'built into Maestro' : 'a task module (MAESTRO_TASK_MODULES)'}</dd>
          </dl>
          <h2>Example</h2>
          <pre className="json" data-testid="uses-snippet">
            {usesSnippet(task)}
          </pre>
          <SchemaView title="Inputs (with)" schema={task.input} testId="task-input" />
          <SchemaView title="Outputs" schema={task.output} testId="task-output" />
          <h2>Used by</h2>
          {task.usedBy.length === 0 ? (
            <p>No workflow version of your namespaces uses this version.</p>
          ) : (
            <ul data-testid="task-used-by">
              {task.usedBy.map((user) => {
                const [workflow = '', workflowVersion = ''] = user.workflowRef.split('@');
                return (
                  <li key={`${user.namespace}/${user.workflowRef}`}>
                    <Link to={workflowLink(workflow, workflowVersion, user.namespace)}>{user.workflowRef}</Link> in {user.namespace}
                  </li>
                );
              })}
            </ul>
          )}
        </>
      ) : tasks.loading ? (
        <p aria-live="polite">Loading…</p>
      ) : tasks.data ? (
        <p>
          No task {name}
          {version ? `@${version}` : ''} in the catalog. <Link to="/tasks">All tasks</Link>
        </p>
      ) : null}
    </section>
  );
}
