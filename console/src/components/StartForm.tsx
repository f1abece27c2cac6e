/**
 * A form that starts something from declared parameters (a workflow's run, a runbook's trigger):
 * the parameter fields, namespace and priority, the browser's checks, and the API's 400 put back
 * on the field it names. The caller sends the request. A secret's text lives only in the form's
 * state: never pre-filled, never written to the address or storage.
 */
import { useId, useState, type ReactNode } from 'react';
import { ApiError } from '../api/index.js';
import { collectParams, fieldErrors, initialTexts, type ParamField } from '../param-values.js';
import { ParamFields } from './ParamFields.js';
import { ProblemNotice } from './ProblemNotice.js';

/** What the form sends: the checked values, the namespace and the priority (absent: the API's default). */
export interface StartValues {
  params: Record<string, unknown>;
  namespace: string;
  priority?: number;
}

/** A submit button of the form, and what it does with the values. */
export interface StartAction {
  label: string;
  /** Styles the button as the main one. @default false */
  primary?: boolean;
  run: (values: StartValues) => Promise<void>;
}

/** Props of {@link StartForm}. */
export interface StartFormProps {
  /** The form's accessible name. */
  title: string;
  fields: readonly ParamField[];
  /** The namespace the form starts with. */
  namespace: string;
  actions: readonly StartAction[];
  /** Shown between the fields and the buttons (e.g. a dry run's plan). */
  children?: ReactNode;
}

/** The form; each action's failure is shown on its fields (400 with located errors) or above the buttons. */
export function StartForm({ title, fields, namespace: initialNamespace, actions, children }: StartFormProps) {
  const id = useId();
  const [texts, setTexts] = useState(() => initialTexts(fields));
  const [namespace, setNamespace] = useState(initialNamespace);
  const [priority, setPriority] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (action: StartAction): Promise<void> => {
    const collected = collectParams(fields, texts);
    setErrors(collected.errors);
    setFailure(undefined);
    if (Object.keys(collected.errors).length > 0) return;
    setBusy(true);
    try {
      await action.run({ params: collected.params, namespace: namespace.trim(), ...(priority === '' ? {} : { priority: Number(priority) }) });
    } catch (error) {
      const located = error instanceof ApiError && error.problem.errors ? fieldErrors(fields, error.problem.errors) : undefined;
      if (located && Object.keys(located.byField).length > 0) {
        setErrors(located.byField);
        if (located.rest.length > 0 && error instanceof ApiError) setFailure(new ApiError({ ...error.problem, errors: located.rest }));
      } else setFailure(error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form
      className="start-form"
      aria-label={title}
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        const first = actions[0];
        if (first) void submit(first);
      }}
    >
      {fields.length === 0 ? <p className="hint">No parameters.</p> : <ParamFields fields={fields} texts={texts} errors={errors} onChange={(name, text) => setTexts((current) => ({ ...current, [name]: text }))} />}
      <div className="form-row">
        <div>
          <label htmlFor={`${id}-namespace`}>Namespace</label>
          <input id={`${id}-namespace`} value={namespace} onChange={(event) => setNamespace(event.target.value)} />
        </div>
        <div>
          <label htmlFor={`${id}-priority`}>Priority</label>
          <select id={`${id}-priority`} value={priority} onChange={(event) => setPriority(event.target.value)}>
            <option value="">default (3)</option>
            {[1, 2, 3, 4, 5].map((value) => (
              <option key={value} value={String(value)}>
                {value}
                {value === 1 ? ' (highest)' : value === 5 ? ' (lowest)' : ''}
              </option>
            ))}
          </select>
        </div>
      </div>
      {Object.keys(errors).length > 0 ? (
        <p className="field-error" role="status">
          Check the fields marked above.
        </p>
      ) : null}
      <ProblemNotice error={failure} onDismiss={() => setFailure(undefined)} />
      {children}
      <div className="actions">
        {actions.map((action, index) => (
          <button key={action.label} type={index === 0 ? 'submit' : 'button'} className={action.primary ? 'primary' : undefined} disabled={busy} onClick={index === 0 ? undefined : () => void submit(action)}>
            {action.label}
          </button>
        ))}
      </div>
    </form>
  );
}
