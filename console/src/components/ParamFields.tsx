/**
 * The fields of a run's parameters or a runbook's inputs, one per declaration: enums as selects,
 * booleans as true/false selects, numbers as numeric text, objects and arrays as JSON editors,
 * secrets masked. Every field is labelled, marks whether it is required, and carries its error.
 */
import { useId } from 'react';
import { fieldText, type FieldTexts, type ParamField } from '../param-values.js';

/** Props of {@link ParamFields}. */
export interface ParamFieldsProps {
  fields: readonly ParamField[];
  texts: FieldTexts;
  onChange: (name: string, text: string) => void;
  /** Field name → message (the browser's checks, or the API's 400). */
  errors: Record<string, string>;
}

/** The fields; nothing when there are none. */
export function ParamFields({ fields, texts, onChange, errors }: ParamFieldsProps) {
  const prefix = useId();
  return (
    <div className="param-fields">
      {fields.map((field) => {
        const id = `${prefix}-${field.name}`;
        const error = errors[field.name];
        const hintId = `${id}-hint`;
        const errorId = `${id}-error`;
        const described = error ? `${hintId} ${errorId}` : hintId;
        const common = {
          id,
          name: field.name,
          value: texts[field.name] ?? '',
          'aria-invalid': error ? true : undefined,
          'aria-required': field.required && field.default === undefined ? true : undefined,
          'aria-describedby': described,
          'data-param': field.name,
        } as const;
        const required = field.required && field.default === undefined;
        return (
          <div className="param-field" key={field.name}>
            <label htmlFor={id}>
              <span className="mono">{field.name}</span>
              {required ? (
                <span className="required" aria-hidden="true">
                  {' '}
                  *
                </span>
              ) : null}
            </label>
            {field.enum ? (
              <select {...common} onChange={(event) => onChange(field.name, event.target.value)}>
                {required ? null : <option value="">(default)</option>}
                {required && !texts[field.name] ? <option value="">Choose…</option> : null}
                {field.enum.map((value) => (
                  <option key={JSON.stringify(value)} value={fieldText(field, value)}>
                    {typeof value === 'string' ? value : JSON.stringify(value)}
                  </option>
                ))}
              </select>
            ) : field.type === 'boolean' ? (
              <select {...common} onChange={(event) => onChange(field.name, event.target.value)}>
                <option value="">{required ? 'Choose…' : '(default)'}</option>
                <option value="true">true</option>
                <option value="false">false</option>
              </select>
            ) : field.type === 'object' || field.type === 'array' ? (
              <textarea {...common} className="json-editor mono" rows={4} spellCheck={false} onChange={(event) => onChange(field.name, event.target.value)} />
            ) : (
              <input
                {...common}
                type={field.secret ? 'password' : 'text'}
                autoComplete={field.secret ? 'off' : undefined}
                inputMode={field.type === 'integer' ? 'numeric' : field.type === 'number' ? 'decimal' : undefined}
                placeholder={field.type === 'datetime' ? '2026-01-31T09:30:00Z' : undefined}
                onChange={(event) => onChange(field.name, event.target.value)}
              />
            )}
            <span id={hintId} className="hint">
              {field.type}
              {field.secret ? ', secret' : ''}
              {field.default !== undefined && !field.secret ? `, default ${JSON.stringify(field.default)}` : ''}
              {field.description ? ` — ${field.description}` : ''}
            </span>
            {error ? (
              <span id={errorId} className="field-error" role="alert" data-testid={`error-${field.name}`}>
                {field.name} {error}
              </span>
            ) : null}
          </div>
        );
      })}
    </div>
  );
}
