/**
 * Sends a signal to a run's waiting tasks (`POST /runs/{runId}/signals`): a payload form generated
 * from the wait's JSON Schema when it is an object of simple properties, else a JSON editor; behind
 * the confirmation that states what the signal does. The API's refusal (a payload its schema
 * refuses, no task waiting any more) stays in the dialog.
 */
import { useId, useMemo, useState } from 'react';
import { requestJson } from '../api/index.js';
import { collectParams, initialTexts, schemaFields } from '../param-values.js';
import { ConfirmDialog } from './ConfirmDialog.js';
import { ParamFields } from './ParamFields.js';
import { ProblemNotice } from './ProblemNotice.js';

/** Props of {@link SignalDialog}. */
export interface SignalDialogProps {
  runId: string;
  /** The signal's name. */
  name: string;
  /** The JSON Schema its payload must match (absent: any JSON value). */
  schema: Record<string, unknown> | undefined;
  /** The ids of the tasks (or items) waiting for it. */
  taskIds: readonly string[];
  /** Called with a status line once the run took the signal. */
  onSent: (message: string) => void;
  onCancel: () => void;
}

/** The dialog; mount it to open it. */
export function SignalDialog({ runId, name, schema, taskIds, onSent, onCancel }: SignalDialogProps) {
  const fields = useMemo(() => schemaFields(schema), [schema]);
  const [texts, setTexts] = useState(() => (fields ? initialTexts(fields) : {}));
  const [json, setJson] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<unknown>();
  const jsonId = useId();
  const send = async (): Promise<void> => {
    setFailure(undefined);
    let payload: unknown;
    if (fields) {
      const collected = collectParams(fields, texts);
      setErrors(collected.errors);
      if (Object.keys(collected.errors).length > 0) return;
      payload = collected.params;
    } else {
      try {
        payload = json.trim() === '' ? null : (JSON.parse(json) as unknown);
        setErrors({});
      } catch (error) {
        setErrors({ payload: `is not valid JSON: ${error instanceof Error ? error.message : String(error)}` });
        return;
      }
    }
    try {
      const answer = await requestJson<{ taskIds: string[] }>('POST', `/runs/${encodeURIComponent(runId)}/signals`, { json: { name, payload } });
      onSent(`Signal "${name}" delivered to ${answer.taskIds.join(', ')}.`);
    } catch (error) {
      setFailure(error);
    }
  };
  return (
    <ConfirmDialog title={`Send signal "${name}" to run ${runId}?`} confirmLabel="Send signal" onConfirm={() => void send()} onCancel={onCancel}>
      <p>
        The task{taskIds.length === 1 ? '' : 's'} waiting for it ({taskIds.join(', ')}) take{taskIds.length === 1 ? 's' : ''} the payload as output and the run goes on. It is recorded in the
        audit log with your name.
      </p>
      {fields ? (
        <ParamFields fields={fields} texts={texts} errors={errors} onChange={(field, text) => setTexts((current) => ({ ...current, [field]: text }))} />
      ) : (
        <p>
          <label htmlFor={jsonId}>Payload (JSON)</label>
          <textarea id={jsonId} className="json-editor mono" rows={5} spellCheck={false} value={json} aria-invalid={errors.payload ? true : undefined} onChange={(event) => setJson(event.target.value)} />
          {errors.payload ? (
            <span className="field-error" role="alert">
              payload {errors.payload}
            </span>
          ) : null}
        </p>
      )}
      {schema ? (
        <details>
          <summary>Payload schema</summary>
          <pre className="json">{JSON.stringify(schema, null, 2)}</pre>
        </details>
      ) : null}
      <ProblemNotice error={failure} />
    </ConfirmDialog>
  );
}
