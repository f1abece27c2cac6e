/**
 * A run's parameters (or a runbook's inputs) as form fields: the text each field starts with, and
 * the values a filled-in form sends, checked as far as the browser can (required, numbers, JSON).
 * The API checks everything again; what only it can tell (an RFC 3339 date-time, a value an enum
 * of an expression refuses) comes back as a 400 whose `errors[].path` names the field.
 */

/** A declared parameter, as the API describes one (`ParameterSpec`; runbook `spec.inputs` items). */
export interface ParamField {
  name: string;
  type: 'string' | 'number' | 'integer' | 'boolean' | 'datetime' | 'object' | 'array';
  required?: boolean;
  default?: unknown;
  enum?: unknown[];
  /** Masked while typed; never pre-filled (the API applies its default) nor shown again. */
  secret?: boolean;
  description?: string;
}

/** The text of each field, by parameter name. */
export type FieldTexts = Record<string, string>;

/** What a form's fields hold when it opens: each default as text (none for a secret parameter). */
export function initialTexts(fields: readonly ParamField[]): FieldTexts {
  const texts: FieldTexts = {};
  for (const field of fields) {
    texts[field.name] = field.default === undefined || field.secret ? '' : fieldText(field, field.default);
  }
  return texts;
}

/** A value as the text of its field: enum options and JSON editors hold JSON, the rest plain text. */
export function fieldText(field: ParamField, value: unknown): string {
  if (field.enum) return JSON.stringify(value);
  if (field.type === 'object' || field.type === 'array') return JSON.stringify(value, null, 2);
  return String(value);
}

/** The outcome of {@link collectParams}: the values to send, or what is wrong, by field. */
export interface CollectedParams {
  params: Record<string, unknown>;
  /** Field name → message; empty when the form may be sent. */
  errors: Record<string, string>;
}

/**
 * The values of a filled-in form. An empty field is left out (the API applies the default), and is
 * an error when the parameter is required without a default.
 * @example collectParams([{ name: 'n', type: 'integer' }], { n: '4' }) // { params: { n: 4 }, errors: {} }
 */
export function collectParams(fields: readonly ParamField[], texts: FieldTexts): CollectedParams {
  const params: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const field of fields) {
    const text = texts[field.name] ?? '';
    if (text.trim() === '') {
      if (field.required && field.default === undefined) errors[field.name] = 'is required';
      continue;
    }
    const parsed = parseField(field, text);
    if ('error' in parsed) errors[field.name] = parsed.error;
    else params[field.name] = parsed.value;
  }
  return { params, errors };
}

function parseField(field: ParamField, text: string): { value: unknown } | { error: string } {
  if (field.enum) {
    const value = parseJson(text);
    return value.ok ? { value: value.value } : { error: 'is not one of the allowed values' };
  }
  const trimmed = text.trim();
  switch (field.type) {
    case 'string':
    case 'datetime':
      return { value: text };
    case 'integer':
      return /^[-+]?\d+$/.test(trimmed) && Number.isSafeInteger(Number(trimmed)) ? { value: Number(trimmed) } : { error: 'must be a whole number' };
    case 'number':
      return Number.isFinite(Number(trimmed)) ? { value: Number(trimmed) } : { error: 'must be a number' };
    case 'boolean':
      return trimmed === 'true' || trimmed === 'false' ? { value: trimmed === 'true' } : { error: 'must be true or false' };
    case 'object':
    case 'array': {
      const value = parseJson(text);
      if (!value.ok) return { error: `is not valid JSON: ${value.error}` };
      const isArray = Array.isArray(value.value);
      const isObject = typeof value.value === 'object' && value.value !== null && !isArray;
      if (field.type === 'array' ? !isArray : !isObject) return { error: field.type === 'array' ? 'must be a JSON list ([...])' : 'must be a JSON object ({...})' };
      return { value: value.value };
    }
  }
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * The field each of a 400's located errors belongs to (`params.<name>` → `<name>`, for names of
 * `fields`); the rest stay with the whole form.
 */
export function fieldErrors(fields: readonly ParamField[], errors: readonly { path: string; message: string }[]): { byField: Record<string, string>; rest: { path: string; message: string }[] } {
  const names = new Set(fields.map((field) => field.name));
  const byField: Record<string, string> = {};
  const rest: { path: string; message: string }[] = [];
  for (const error of errors) {
    const name = /^(?:params|inputs)\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(error.path)?.[1];
    if (name !== undefined && names.has(name)) byField[name] = byField[name] ? `${byField[name]}; ${error.message}` : error.message;
    else rest.push(error);
  }
  return { byField, rest };
}

const SIMPLE_TYPES: ReadonlySet<string> = new Set(['string', 'number', 'integer', 'boolean', 'object', 'array']);

/**
 * The fields of a JSON Schema of an object whose properties each have one simple `type` (a signal's
 * payload schema); undefined when the schema is anything else, and the payload is edited as JSON.
 * @example schemaFields({ type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] }) // [{ name: 'ok', type: 'boolean', required: true }]
 */
export function schemaFields(schema: Record<string, unknown> | undefined): ParamField[] | undefined {
  const properties = schema?.properties;
  if (schema?.type !== 'object' || typeof properties !== 'object' || properties === null) return undefined;
  const required = Array.isArray(schema.required) ? schema.required : [];
  const fields: ParamField[] = [];
  for (const [name, property] of Object.entries(properties as Record<string, Record<string, unknown>>)) {
    const type = property.type;
    if (typeof type !== 'string' || !SIMPLE_TYPES.has(type)) return undefined;
    fields.push({
      name,
      type: type === 'string' && property.format === 'date-time' ? 'datetime' : (type as ParamField['type']),
      required: required.includes(name),
      ...(property.default === undefined ? {} : { default: property.default }),
      ...(Array.isArray(property.enum) ? { enum: property.enum } : {}),
      ...(typeof property.description === 'string' ? { description: property.description } : {}),
    });
  }
  return fields;
}
